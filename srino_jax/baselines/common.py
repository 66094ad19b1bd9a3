"""Building blocks shared by the classical pan-sharpening baselines (toolbox Tools/*.m).

All arrays are float64 (H, W, C) in digital numbers; statistics follow MATLAB's `mean2`,
`std2` (N - 1 normalisation) and `cov` conventions.
"""

from __future__ import annotations

import numpy as np

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import filter_replicate, gaussian_mtf_kernel
from srino_jax.toolbox.wald import decimate

EPS = float(np.finfo(np.float64).eps)  # MATLAB's eps, guarding the ratio-based injections


def band_std(x: np.ndarray) -> np.ndarray:
  """Per-band `std2` of (H, W, C): (C,) with N - 1 normalisation."""
  return x.reshape(-1, x.shape[-1]).std(axis=0, ddof=1)


def band_mean(x: np.ndarray) -> np.ndarray:
  """Per-band `mean2` of (H, W, C): (C,)."""
  return x.reshape(-1, x.shape[-1]).mean(axis=0)


def cov_xy(a: np.ndarray, b: np.ndarray) -> float:
  """MATLAB `cov(a(:), b(:))` off-diagonal entry (N - 1 normalisation)."""
  a = a.ravel() - a.mean()
  b = b.ravel() - b.mean()
  # einsum, not BLAS dot: a threaded BLAS call costs more than the sum on a busy 2-core box.
  return float(np.einsum("i,i->", a, b)) / (a.size - 1)


def lp_filter_gauss(img: np.ndarray, ratio: int) -> np.ndarray:
  """Toolbox LPfilterGauss: genMTF-style Gaussian with gain 0.3 (alpha uses N, not N - 1)."""
  kernel = gaussian_mtf_kernel(0.3, ratio, 41, span=41)[..., None]
  return filter_replicate(img, kernel)


def glp_lowpass(pan_bands: np.ndarray, kernels: np.ndarray, ratio: int) -> np.ndarray:
  """MTF-GLP low-pass PAN: MTF filter, 'nearest' decimation, interp23tap back.

  Args:
    pan_bands: (H, W, C) or (H, W, 1) PAN copies (one per band, or one shared).
    kernels: (41, 41, C) MTF kernels, one per band.
    ratio: resolution ratio.

  Returns:
    (H, W, C) float64.
  """
  filtered = filter_replicate(pan_bands, kernels)  # broadcasts a single PAN over the bands
  return interp23tap(decimate(filtered, ratio), ratio)


def regress_global(design: np.ndarray, target: np.ndarray) -> np.ndarray:
  """Toolbox estimation_alpha(..., 'global'): least squares `design \\ target`.

  Args:
    design: (h, w, K) regressors.
    target: (h, w) or (h, w, 1) target.

  Returns:
    (K,) coefficients.
  """
  a = design.reshape(-1, design.shape[-1])
  coef, *_ = np.linalg.lstsq(a, target.ravel(), rcond=None)
  return coef


def _sym_half(x: np.ndarray, left: int, right: int) -> np.ndarray:
  """Half-point symmetric extension along axis 0 (MATLAB dwtmode 'sym')."""
  n = x.shape[0]
  idx = np.arange(-left, n + right)
  idx = np.where(idx < 0, -idx - 1, idx)
  idx = np.where(idx >= n, 2 * n - 1 - idx, idx)
  return x[idx]


def _full_conv_axis0(x: np.ndarray, f: np.ndarray) -> np.ndarray:
  """'Full' convolution along axis 0 (MATLAB convn with a vector)."""
  n, lf = x.shape[0], f.shape[0]
  out = np.zeros((n + lf - 1,) + x.shape[1:])
  for j, c in enumerate(f):
    out[j:j + n] += c * x
  return out


def _starck_murtagh_lowpass_1d(x: np.ndarray, levels: int) -> np.ndarray:
  """One axis of LPfilterPlusDec before decimation: ndwt2 approximation, details zeroed.

  The toolbox's ndwt2_working (undilated filters, 'sym' extension, 'full' size growing by 4
  per level) followed by indwt2_working of the approximation only (full convolution with
  the synthesis filter, central crop). Both filters are sqrt(2) [1 4 6 4 1] / 16; the 1/4
  of indwt2's 2-D reconstruction is 1/2 per axis.
  """
  h = np.sqrt(2.0) * np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
  sizes = [x.shape[0]]
  for _ in range(levels):
    n = x.shape[0]
    ext = _sym_half(x, 4, 5)  # [X(lf-1:-1:1), X, X(end:-1:end-lf+1)], lf = 5
    full = _full_conv_axis0(ext, h)  # length n + 13
    x = full[4:n + 8]  # wdec1D's two crops keep n + 4 samples
    sizes.append(x.shape[0])
  for size in reversed(sizes[:-1]):
    full = _full_conv_axis0(x, h) / 2.0
    off = (full.shape[0] - size) // 2  # floor / ceil central part (difference is even here)
    x = full[off:off + size]
  return x


def lp_filter_plus_dec(pan: np.ndarray, ratio: int) -> np.ndarray:
  """Toolbox LPfilterPlusDec: Starck-Murtagh low-pass of a 2-D image then 'nearest' decimation.

  Args:
    pan: (H, W, 1) float64.
    ratio: power-of-two resolution ratio.

  Returns:
    (H / ratio, W / ratio, 1) float64.
  """
  levels = int(np.ceil(np.log2(ratio)))
  h, w = pan.shape[:2]
  # The operator is separable: build each axis's (n, n) matrix from the identity.
  mr = _starck_murtagh_lowpass_1d(np.eye(h), levels)
  mc = _starck_murtagh_lowpass_1d(np.eye(w), levels)
  off = ratio // 2
  mr, mc = mr[off::ratio], mc[off::ratio]
  return np.einsum("ih,hwc,jw->ijc", mr, pan, mc, optimize=True)
