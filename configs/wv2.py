r"""SRINO on WV2 (8 bands), the paper's recipe.

  python train.py --config configs/wv2.py --workdir runs/wv2 \
      --config.data.root=/path/to/PanCollection

PanCollection ships WV2 as test sets only: train on your own WV2 patches (e.g. made with
`python -m srino_jax.data.make_dataset`) and name them here."""

from configs import base


def get_config():
  return base.for_sensor("wv2")
