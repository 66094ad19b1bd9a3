r"""SRINO on WV2 (8 bands), the paper's recipe.

  python train.py --config configs/wv2.py --workdir runs/wv2 \
      --config.data.root=/path/to/PanCollection

PanCollection ships WV2 as test sets only: train on your own WV2 patches (e.g. made with
`python -m srino_jax.data.make_dataset`) and name them here."""

from configs import base


def get_config():
  config = base.get_config()
  config.sensor = "wv2"
  config.data.train = "train_wv2.h5"
  config.data.valid = "valid_wv2.h5"
  config.data.test = "test_wv2_multiExm1.h5"
  config.data.test_full = "test_wv2_OrigScale_multiExm1.h5"
  return config
