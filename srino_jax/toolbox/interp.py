"""The toolbox's 23-tap polynomial interpolator (interp23tap.m, Aiazzi et al. 2002).

Upsampling by 2 inserts zeros between samples and filters rows and columns with a
symmetric 23-tap half-band kernel (the toolbox's "CDF23" coefficients) with circular
borders; a ratio of 2^k repeats this k times. The kernel's centre tap is 1 and its other
even taps are 0, so the input samples pass through unchanged: only the in-between
positions are computed (a polyphase form of the same filter, exact in floating point).

Sample placement (MATLAB 1-based `2:2:end` on the first pass, `1:2:end` afterwards) puts
input pixel i at output pixel ratio*i + ratio//2 (0-based), so
`interp23tap(x, r)[r//2::r, r//2::r] == x` exactly: the same phase that the Wald
decimation `x[r//2::r, r//2::r]` keeps.

Note: the toolbox loops `for z = 1:ratio/2`, which is right for ratios 2 and 4 only (it
would upsample by 16 for ratio 8); here ratio 8 means three x2 passes, i.e. x8.
"""

from __future__ import annotations

import numpy as np

from srino_jax.toolbox.arrays import as_image

__all__ = ["interp23tap", "CDF23_HALF"]

# Odd-offset taps c1, c3, ..., c11 of CDF23 (the toolbox lists 2 * [0.5, 0.305334091185, 0,
# -0.072698593239, 0, ...]: centre 1, even taps 0). They sum to 0.4999999998 per side.
CDF23_HALF = 2.0 * np.array([0.305334091185, -0.072698593239, 0.021809577942,
                             -0.005192756653, 0.000807762146, -0.000060081482])


def _upsample2_axis(x: np.ndarray, axis: int, first: bool) -> np.ndarray:
  """One x2 pass of interp23tap along `axis` (circular borders).

  Args:
    x: array with n samples along `axis`.
    axis: axis to upsample.
    first: True on the first pass (samples go to odd 0-based positions 1, 3, ...),
      False afterwards (even positions 0, 2, ...).

  Returns:
    array with 2n samples along `axis`.
  """
  x = np.moveaxis(x, axis, 0)
  n = x.shape[0]
  # The value half-way between sample i and sample i+1 (circularly):
  # sum_k c_{2k+1} (x[i - k] + x[i + 1 + k]), k = 0..5.
  between = np.zeros_like(x)
  for k, c in enumerate(CDF23_HALF):
    between += c * (np.roll(x, k, axis=0) + np.roll(x, -(k + 1), axis=0))
  out = np.empty((2 * n,) + x.shape[1:], dtype=x.dtype)
  if first:
    out[1::2] = x
    # Even position 2i lies between samples i-1 and i.
    out[0::2] = np.roll(between, 1, axis=0)
  else:
    out[0::2] = x
    out[1::2] = between
  return np.moveaxis(out, 0, axis)


def interp23tap(img, ratio: int = 4) -> np.ndarray:
  """Upsamples an image with the toolbox's 23-tap interpolator.

  Args:
    img: (h, w, C) or (h, w) image, any real dtype and scale.
    ratio: upsampling factor, a power of two (2, 4, 8, ...).

  Returns:
    (h * ratio, w * ratio, C) float64; out[ratio//2::ratio, ratio//2::ratio] equals the input.

  Raises:
    ValueError: if `ratio` is not a power of two >= 2, or the image is malformed.
  """
  if int(ratio) != ratio or ratio < 2 or (int(ratio) & (int(ratio) - 1)):
    raise ValueError(f"interp23tap: ratio must be a power of two >= 2, got {ratio}")
  x = as_image(img, "img")
  for step in range(int(ratio).bit_length() - 1):
    x = _upsample2_axis(x, 1, first=step == 0)
    x = _upsample2_axis(x, 0, first=step == 0)
  return x
