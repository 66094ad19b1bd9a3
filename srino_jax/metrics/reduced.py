"""Reduced-resolution indices against a ground truth: PSNR, SAM, ERGAS, SCC.

Each follows the corresponding file of Vivone et al.'s pan-sharpening toolbox (SAM.m,
ERGAS.m, SCC.m; PSNR as the published tables compute it on images divided by the sensor
max). Images are (H, W, C) arrays of digital numbers, reference first; no rounding.
Q2n lives in `q2n.py`.
"""

from __future__ import annotations

import numpy as np

from srino_jax.metrics._inputs import as_image, check_same_shape

__all__ = ["psnr", "psnr_mse", "sam", "ergas", "scc", "sobel_magnitude"]


def _pair(ref, out) -> tuple[np.ndarray, np.ndarray]:
  ref = as_image(ref, "ref")
  out = as_image(out, "out")
  check_same_shape(ref, out, "ref", "out")
  return ref, out


def psnr(ref, out, data_range: float) -> float:
  """Peak signal-to-noise ratio in dB, averaged over bands.

  mean_b 10 log10(data_range^2 / MSE_b). With data_range = the sensor max on digital
  numbers this equals the usual 10 log10(1 / MSE_b) on images divided by the max.

  Args:
    ref: (H, W, C) reference (ground truth).
    out: (H, W, C) image to score.
    data_range: peak value, e.g. 2047 for 11-bit digital numbers.

  Returns:
    mean PSNR in dB (inf if some band has zero error, as log10 of x/0 is in MATLAB).
  """
  ref, out = _pair(ref, out)
  if not data_range > 0:
    raise ValueError(f"psnr: data_range must be positive, got {data_range}")
  mse = np.mean((ref - out) ** 2, axis=(0, 1))
  with np.errstate(divide="ignore"):
    per_band = 10.0 * np.log10(float(data_range) ** 2 / mse)
  return float(np.mean(per_band))


def psnr_mse(ref, out, data_range: float) -> float:
  """PSNR in dB from the overall MSE: 10 log10(data_range^2 / MSE), MSE over every pixel
  and band (the convention of many deep-learning codebases; `psnr` is the toolbox's mean of
  per-band PSNRs, which is never below this one by Jensen's inequality).

  Args:
    ref: (H, W, C) reference (ground truth).
    out: (H, W, C) image to score.
    data_range: peak value, e.g. 2047 for 11-bit digital numbers.

  Returns:
    PSNR in dB (inf for identical images).
  """
  ref, out = _pair(ref, out)
  if not data_range > 0:
    raise ValueError(f"psnr_mse: data_range must be positive, got {data_range}")
  mse = np.mean((ref - out) ** 2)  # a NumPy float: x / 0 is inf, not an exception
  with np.errstate(divide="ignore"):
    return float(10.0 * np.log10(np.float64(data_range) ** 2 / mse))


def sam(ref, out) -> float:
  """Spectral Angle Mapper in degrees (toolbox SAM.m).

  Per pixel, the angle acos(<ref, out> / (|ref| |out|)) between the two spectra; pixels
  whose norm product is 0 are dropped; the index is the mean angle over the remaining
  pixels. MATLAB's `real(acos(.))` of a ratio rounded past +-1 equals acos of the ratio
  clipped to [-1, 1], which is what is computed here.

  Args:
    ref: (H, W, C) reference.
    out: (H, W, C) image to score.

  Returns:
    mean spectral angle in degrees (NaN if every pixel has a zero spectrum).
  """
  ref, out = _pair(ref, out)
  dot = np.sum(ref * out, axis=-1).ravel()
  norm = np.sqrt(np.sum(ref * ref, axis=-1) * np.sum(out * out, axis=-1)).ravel()
  keep = norm != 0
  if not np.any(keep):
    return float("nan")
  angles = np.arccos(np.clip(dot[keep] / norm[keep], -1.0, 1.0))
  return float(np.mean(angles) * 180.0 / np.pi)


def ergas(ref, out, ratio: int = 4) -> float:
  """ERGAS (toolbox ERGAS.m): 100/ratio * sqrt(mean_b(MSE_b / mean(ref_b)^2)).

  Args:
    ref: (H, W, C) reference; its band means normalise the errors.
    out: (H, W, C) image to score.
    ratio: PAN / MS resolution ratio (4 for the usual sensors).

  Returns:
    ERGAS (dimensionless; 0 for identical images).
  """
  ref, out = _pair(ref, out)
  mse = np.mean((ref - out) ** 2, axis=(0, 1))
  mean_sq = np.mean(ref, axis=(0, 1)) ** 2
  return float(100.0 / ratio * np.sqrt(np.mean(mse / mean_sq)))


def sobel_magnitude(img: np.ndarray) -> np.ndarray:
  """Sobel gradient magnitude of the image interior, as SCC.m computes it.

  The toolbox filters `I(2:end-1, 2:end-1, b)` (one pixel cut on every side) with
  `imfilter` (correlation, zero padding, same size) using fspecial('sobel') =
  [1 2 1; 0 0 0; -1 -2 -1] and its transpose, and takes sqrt(gy^2 + gx^2). The kernel is
  separable ([1 2 1] smoothing times a [1 0 -1] difference), which is how it is applied here.

  Args:
    img: (H, W, C) float64, H, W >= 3.

  Returns:
    (H - 2, W - 2, C) float64.
  """
  inner = img[1:-1, 1:-1]
  h, w = inner.shape[:2]
  p = np.pad(inner, ((1, 1), (1, 1)) + ((0, 0),) * (inner.ndim - 2))  # imfilter's zeros
  smooth_cols = p[:, :-2] + 2.0 * p[:, 1:-1] + p[:, 2:]    # [1 2 1] along a row
  smooth_rows = p[:-2] + 2.0 * p[1:-1] + p[2:]             # [1 2 1] down a column
  gy = smooth_cols[:h] - smooth_cols[2:h + 2]              # rows above minus rows below
  gx = smooth_rows[:, :w] - smooth_rows[:, 2:w + 2]        # sobel' : left minus right
  return np.sqrt(gy ** 2 + gx ** 2)


def scc(ref, out) -> float:
  """Spatial Correlation Coefficient (toolbox SCC.m, Sobel version).

  High-pass = Sobel gradient magnitude (see `sobel_magnitude`: interior crop by one pixel,
  fspecial('sobel') and its transpose, zero borders; not the Laplacian variant of older
  toolbox versions). The index is the uncentred correlation of the two magnitude images
  taken over all pixels and bands at once:
  sum(G_out * G_ref) / sqrt(sum G_out^2) / sqrt(sum G_ref^2).

  Args:
    ref: (H, W, C) reference (ground truth), H, W >= 3.
    out: (H, W, C) image to score.

  Returns:
    SCC in [0, 1] (1 for identical images; NaN if an image has no gradient at all).
  """
  ref, out = _pair(ref, out)
  if min(ref.shape[:2]) < 3:
    raise ValueError(f"scc: images must be at least 3 x 3, got {ref.shape}")
  g_ref = sobel_magnitude(ref)
  g_out = sobel_magnitude(out)
  num = np.sum(g_out * g_ref)
  with np.errstate(divide="ignore", invalid="ignore"):
    return float(num / np.sqrt(np.sum(g_out ** 2)) / np.sqrt(np.sum(g_ref ** 2)))
