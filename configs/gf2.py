r"""SRINO on GF2 (4 bands), the paper's recipe.

  python train.py --config configs/gf2.py --workdir runs/gf2 \
      --config.data.root=/path/to/PanCollection
"""

from configs import base


def get_config():
  return base.for_sensor("gf2")
