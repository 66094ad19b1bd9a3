"""Wald-protocol degradation of an (MS, PAN) pair, as the toolbox's resize_images.m.

MS: each band filtered with its MTF kernel (genMTF, replicate borders), then decimated
with MATLAB's `imresize(x, 1/r, 'nearest')`, which keeps the 0-based pixels
x[r//2::r, r//2::r] (x[2::4, 2::4] for r = 4). PAN: `imresize(pan, 1/r)` (bicubic with
antialiasing), or optionally the PAN MTF filter (MTF_PAN) plus the same decimation.
The reduced pair is fused and compared with the original MS (the ground truth).
"""

from __future__ import annotations

import numpy as np

from srino_jax.toolbox.arrays import as_ms_pan
from srino_jax.toolbox.mtf import mtf_filter, mtf_pan_filter
from srino_jax.toolbox.resize import imresize
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["wald_degrade", "decimate", "PAN_METHODS"]

PAN_METHODS = ("imresize", "mtf")


def decimate(img: np.ndarray, ratio: int = 4) -> np.ndarray:
  """Keeps pixels [r//2::r, r//2::r] of an (H, W, C) array: `imresize(.., 1/r, 'nearest')`."""
  off = ratio // 2
  return img[off::ratio, off::ratio]


def wald_degrade(ms, pan, sensor: str | Sensor, ratio: int = 4,
                 pan_method: str = "imresize") -> tuple[np.ndarray, np.ndarray]:
  """Reduces an (MS, PAN) pair by `ratio` following Wald's protocol.

  Args:
    ms: (h, w, C) multispectral image, any real dtype, digital numbers or any scale;
      C must equal `sensor.bands`.
    pan: (h * ratio, w * ratio, 1) or (h * ratio, w * ratio) panchromatic image.
    sensor: sensor name or `Sensor` (its MTF gains define the filters).
    ratio: integer resolution ratio (4 for every sensor of the table).
    pan_method: "imresize" (toolbox default: MATLAB bicubic imresize by 1/ratio) or "mtf"
      (PAN MTF filter, then the same decimation as the MS).

  Returns:
    (ms_lr, pan_lr): (h / ratio, w / ratio, C) and (h, w, 1) float64 arrays, same units.

  Raises:
    ValueError: naming the array when shapes, band counts or values are invalid.
  """
  sensor = get_sensor(sensor)
  if int(ratio) != ratio or ratio < 2:
    raise ValueError(f"wald_degrade: ratio must be an integer >= 2, got {ratio}")
  ratio = int(ratio)
  if pan_method not in PAN_METHODS:
    raise ValueError(f"wald_degrade: pan_method must be one of {PAN_METHODS}, got {pan_method!r}")
  ms, pan = as_ms_pan(ms, pan, sensor.bands, ratio)
  h, w = ms.shape[:2]
  if h % ratio or w % ratio:
    raise ValueError(f"ms: size {(h, w)} is not divisible by the ratio {ratio}")
  ms_lr = decimate(mtf_filter(ms, sensor, ratio), ratio)  # resize_images: MTF + 'nearest'
  if pan_method == "imresize":
    pan_lr = imresize(pan, 1.0 / ratio)
  else:
    pan_lr = decimate(mtf_pan_filter(pan, sensor, ratio), ratio)
  return ms_lr, pan_lr
