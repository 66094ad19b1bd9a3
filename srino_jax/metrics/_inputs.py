"""Input checks and the toolbox's pre-processing (border cut, value clipping) for the indices.

Every index takes images as H x W x C arrays of digital numbers (any real dtype) and works
in float64, as the toolbox's MATLAB code does (it converts with `double`).
"""

from __future__ import annotations

import numpy as np

from srino_jax.toolbox.arrays import as_image, as_pan, as_stack, check_same_shape
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["as_image", "as_pan", "as_stack", "check_same_shape", "cut_border",
           "clip_toolbox", "clip_upper"]


def cut_border(img: np.ndarray, dim_cut: int) -> np.ndarray:
  """The toolbox's border cut `I(dim_cut:end-dim_cut, dim_cut:end-dim_cut, :)`.

  MATLAB's 1-based slice keeps 0-based rows dim_cut-1 .. H-dim_cut-1: it removes
  dim_cut-1 rows at the top and dim_cut at the bottom (likewise for columns), leaving
  H - 2*dim_cut + 1 rows (215 of 256 for the toolbox scripts' dim_cut = 21).

  Args:
    img: (H, W, ...) array.
    dim_cut: the toolbox's `dim_cut`; 0 (or less) means no cut (`flag_cut_bounds = 0`).

  Returns:
    the cut view of `img`.
  """
  dim_cut = int(dim_cut)
  if dim_cut <= 0:
    return img
  h, w = img.shape[:2]
  if h - 2 * dim_cut + 1 < 1 or w - 2 * dim_cut + 1 < 1:
    raise ValueError(f"dim_cut={dim_cut} leaves nothing of a {h} x {w} image")
  return img[dim_cut - 1:h - dim_cut, dim_cut - 1:w - dim_cut]


def clip_upper(sensor: str | Sensor) -> float:
  """Upper bound of the toolbox's `th_values` clipping: 2^L = sensor max + 1 (2048 for 11 bits).

  The toolbox (indexes_evaluation*.m) sets `I_F(I_F > 2^L) = 2^L`, with L the bit depth,
  i.e. one digital number above the largest representable value 2^L - 1.
  """
  return float(get_sensor(sensor).max_value) + 1.0


def clip_toolbox(fused: np.ndarray, sensor: str | Sensor) -> np.ndarray:
  """Clips a fused image to [0, 2^L] as the toolbox's `th_values = 1` does."""
  return np.clip(fused, 0.0, clip_upper(sensor))
