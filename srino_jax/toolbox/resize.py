"""MATLAB `imresize(x, scale)` with the default bicubic kernel, as separable weight matrices.

MATLAB's algorithm (imresize.m, `contributions`), per dimension, for output pixel x
(1-based) and scale s:
  - source position u = x / s + 0.5 (1 - 1 / s) (pixel centres aligned);
  - kernel: Keys cubic with a = -0.5, width 4; when shrinking (s < 1) with antialiasing the
    kernel is stretched, h(t) = s * cubic(s t), and its width becomes 4 / s;
  - taps: left = floor(u - width / 2), indices left .. left + ceil(width) + 1;
  - weights h(u - index), normalised to sum 1 per output pixel;
  - out-of-range indices are mirrored symmetrically (edge repeated: ... 2 1 | 1 2 ... n | n n-1 ...).
With a scalar scale the output size is ceil(s * n). MATLAB processes the dimension with the
smaller scale first; the operation is linear and separable so the order only changes
rounding. Unlike MATLAB on integer images, the result is never rounded: float64 out.
"""

from __future__ import annotations

import math

import numpy as np

from srino_jax.toolbox.arrays import as_image

__all__ = ["imresize", "cubic", "resize_weights"]


def cubic(t: np.ndarray) -> np.ndarray:
  """MATLAB's bicubic kernel (Keys, a = -0.5)."""
  a = np.abs(t)
  a2, a3 = a * a, a * a * a
  return ((1.5 * a3 - 2.5 * a2 + 1.0) * (a <= 1.0)
          + (-0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0) * ((a > 1.0) & (a <= 2.0)))


def resize_weights(in_length: int, out_length: int, scale: float,
                   antialias: bool = True) -> np.ndarray:
  """The (out_length, in_length) float64 matrix of MATLAB's `contributions` for one axis."""
  width = 4.0
  if scale < 1.0 and antialias:
    kernel = lambda t: scale * cubic(scale * t)  # noqa: E731 (MATLAB's stretched kernel h)
    width = width / scale
  else:
    kernel = cubic
  x = np.arange(1, out_length + 1, dtype=np.float64)
  u = x / scale + 0.5 * (1.0 - 1.0 / scale)
  left = np.floor(u - width / 2.0)
  taps = int(math.ceil(width)) + 2
  idx = left[:, None] + np.arange(taps)[None, :]  # 1-based source indices
  w = kernel(u[:, None] - idx)
  w = w / w.sum(axis=1, keepdims=True)
  # Symmetric mirroring: aux = [1..n, n..1], indices taken modulo 2n.
  aux = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
  src = aux[np.mod(idx.astype(np.int64) - 1, 2 * in_length)]
  mat = np.zeros((out_length, in_length))
  rows = np.broadcast_to(np.arange(out_length)[:, None], src.shape)
  np.add.at(mat, (rows, src), w)
  return mat


def imresize(img, scale: float, antialias: bool = True) -> np.ndarray:
  """Resizes an image by `scale` as MATLAB's `imresize(img, scale)` (bicubic).

  Args:
    img: (H, W, C) or (H, W) image, any real dtype and scale.
    scale: positive resize factor (e.g. 1/4 to reduce a PAN by the ratio 4).
    antialias: MATLAB's 'Antialiasing' option (on by default when shrinking).

  Returns:
    (ceil(scale H), ceil(scale W), C) float64; a 2-D input gives a 3-D (.., .., 1) output.
  """
  if not scale > 0 or not math.isfinite(scale):
    raise ValueError(f"imresize: scale must be a positive finite number, got {scale}")
  x = as_image(img, "img")
  h, w = x.shape[:2]
  # MATLAB: output size ceil(scale * size); guard against 0.25 * 1280 = 320.00000000000006.
  out_h = int(math.ceil(round(scale * h, 9)))
  out_w = int(math.ceil(round(scale * w, 9)))
  wr = resize_weights(h, out_h, scale, antialias)
  wc = resize_weights(w, out_w, scale, antialias)
  return np.einsum("ih,hwc,jw->ijc", wr, x, wc, optimize=True)
