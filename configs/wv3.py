r"""SRINO on WV3 (8 bands), the paper's recipe.

  python train.py --config configs/wv3.py --workdir runs/wv3 \
      --config.data.root=/path/to/PanCollection
"""

from configs import base


def get_config():
  config = base.get_config()
  config.sensor = "wv3"
  config.data.train = "train_wv3.h5"
  config.data.valid = "valid_wv3.h5"
  config.data.test = "test_wv3_multiExm1.h5"
  config.data.test_full = "test_wv3_OrigScale_multiExm1.h5"
  return config
