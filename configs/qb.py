r"""SRINO on QB (4 bands), the paper's recipe.

  python train.py --config configs/qb.py --workdir runs/qb \
      --config.data.root=/path/to/PanCollection
"""

from configs import base


def get_config():
  return base.for_sensor("qb")
