r"""SRINO on GF2 (4 bands), the paper's recipe.

  python train.py --config configs/gf2.py --workdir runs/gf2 \
      --config.data.root=/path/to/PanCollection
"""

from configs import base


def get_config():
  config = base.get_config()
  config.sensor = "gf2"
  config.data.train = "train_gf2.h5"
  config.data.valid = "valid_gf2.h5"
  config.data.test = "test_gf2_multiExm1.h5"
  config.data.test_full = "test_gf2_OrigScale_multiExm1.h5"
  return config
