r"""SRINO on QB (4 bands), the paper's recipe.

  python train.py --config configs/qb.py --workdir runs/qb \
      --config.data.root=/path/to/PanCollection
"""

from configs import base


def get_config():
  config = base.get_config()
  config.sensor = "qb"
  config.data.train = "train_qb.h5"
  config.data.valid = "valid_qb.h5"
  config.data.test = "test_qb_multiExm1.h5"
  config.data.test_full = "test_qb_OrigScale_multiExm1.h5"
  return config
