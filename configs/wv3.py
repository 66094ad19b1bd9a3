r"""SRINO on WV3 (8 bands), the paper's recipe.

  python train.py --config configs/wv3.py --workdir runs/wv3 \
      --config.data.root=/path/to/PanCollection
"""

from configs import base


def get_config():
  return base.for_sensor("wv3")
