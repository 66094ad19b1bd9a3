"""Component-substitution (CS) baselines of the pan-sharpening toolbox (Vivone et al.).

Every function takes the interpolated MS `lms` (H, W, C), the PAN `pan` (H, W, 1), the
original MS `ms_lr` (h, w, C), the `Sensor` and the ratio, all float64 in digital numbers,
and returns the fused (H, W, C) float64 image. Each follows the named toolbox file.
"""

from __future__ import annotations

import numpy as np

from srino_jax.baselines.common import (EPS, band_mean, cov_xy, lp_filter_gauss,
                                        lp_filter_plus_dec, regress_global)
from srino_jax.toolbox.mtf import filter_replicate, mtf_kernel, mtf_pan_kernel
from srino_jax.toolbox.resize import imresize
from srino_jax.toolbox.wald import decimate
from srino_jax.sensors import Sensor

__all__ = ["brovey", "bt_h", "gs", "gsa", "bdsd"]


def _equalise(x: np.ndarray, ref: np.ndarray) -> np.ndarray:
  """(x - mean2(x)) std2(ref) / std2(x) + mean2(ref): histogram (moment) matching."""
  return (x - x.mean()) * (ref.std(ddof=1) / x.std(ddof=1)) + ref.mean()


def brovey(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """Brovey.m: I = band mean; PAN matched to I; fused = MS * P / (I + eps)."""
  intensity = lms.mean(axis=-1, keepdims=True)
  p = _equalise(pan, intensity)
  return lms * (p / (intensity + EPS))


def bt_h(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """BroveyRegHazeMin.m (BT-H, 2021 toolbox): Brovey with haze removal and regressed weights."""
  c = lms.shape[-1]
  if c == 4:
    # Haze per band: fractions of the 1st percentile (MATLAB prctile = numpy 'hazen').
    frac = np.array([0.95, 0.45, 0.40, 0.05])
    haze = frac * np.percentile(lms.reshape(-1, 4), 1, axis=0, method="hazen")
  else:
    haze = lms.reshape(-1, c).min(axis=0)
  pan_lp = lp_filter_gauss(pan, ratio)
  alpha = regress_global(lms, pan_lp)  # estimation_alpha(I_MS, PAN_LP, 'global'), no offset
  intensity = ((lms - haze) * alpha).sum(axis=-1, keepdims=True)
  p = (pan - pan_lp.mean()) * (intensity.std(ddof=1) / pan_lp.std(ddof=1)) + intensity.mean()
  ms_l = np.maximum(lms - haze, 0.0)
  return ms_l * (p / (intensity + EPS)) + haze


def _gram_schmidt_inject(lms, intensity, pan0) -> np.ndarray:
  """GS.m / GSA.m fusion: MS0 + g (P0 - I0), g = cov(I0, MS0_k) / var(I0), band means restored."""
  i0 = intensity - intensity.mean()
  ms0 = lms - band_mean(lms)
  var_i = cov_xy(i0, i0)
  g = np.array([cov_xy(i0, ms0[..., k]) / var_i for k in range(lms.shape[-1])])
  fused = ms0 + g * (pan0 - i0)
  return fused - band_mean(fused) + band_mean(lms)  # "Final Mean Equalization"


def gs(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """GS.m (Gram-Schmidt, mode 1): I = band mean; PAN matched to I0 (mean 0, std of I)."""
  intensity = lms.mean(axis=-1, keepdims=True)
  i0 = intensity - intensity.mean()
  p0 = _equalise(pan, i0)
  return _gram_schmidt_inject(lms, intensity, p0)


def gsa(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """GSA.m (adaptive GS): I = regression of the low-pass decimated PAN on the MS bands + 1."""
  ms_lr0 = ms_lr - band_mean(ms_lr)
  pan_lr0 = lp_filter_plus_dec(pan - pan.mean(), ratio)
  ones_lr = np.ones(ms_lr.shape[:2] + (1,))
  alpha = regress_global(np.concatenate([ms_lr0, ones_lr], axis=-1), pan_lr0)
  lms0 = lms - band_mean(lms)
  intensity = (lms0 * alpha[:-1]).sum(axis=-1, keepdims=True) + alpha[-1]
  return _gram_schmidt_inject(lms, intensity, pan - pan.mean())  # PAN: mean removed only


def bdsd(lms, pan, ms_lr, sensor: Sensor, ratio: int, block_size: int | None = None):
  """BDSD.m (band-dependent spatial detail), global estimation by default.

  gamma_k = argmin || (MS_lr_k - MTF(MS_lr_k)) - [MTF(MS_lr), MTF_PAN(P)_dec] gamma ||, with
  MS_lr = imresize(lms, 1/r) as the toolbox does; fused_k = lms_k + [lms, P] gamma_k.

  Args:
    block_size: the toolbox's S x S blocks (S even, a multiple of the ratio, dividing both
      PAN sides). None is the toolbox scripts' call `BDSD(..., S = size(I_MS, 1), ...)`:
      S = the image height, so a square image is one block and an H x kH image k blocks;
      where the height does not divide the width (the toolbox stops with an error there)
      one gamma is estimated for the whole image.

  The reduced PAN keeps pixels [r//2::r] (the toolbox's `3:ratio:end`, the same for r = 4).
  """
  big_h, big_w, c = lms.shape
  if block_size is None:
    sh, sw = (big_h, big_h) if big_w % big_h == 0 else (big_h, big_w)
  else:
    sh, sw = block_size, block_size
  for s, n in ((sh, big_h), (sw, big_w)):
    if s % 2 or s % ratio or n % s:
      raise ValueError(f"bdsd: block size {s} must be even, a multiple of the ratio {ratio} "
                       f"and divide the image size {(big_h, big_w)}")
  pan_lp_d = decimate(filter_replicate(pan, mtf_pan_kernel(sensor, ratio)), ratio)
  ms_orig = imresize(lms, 1.0 / ratio)
  ms_lp_d = filter_replicate(ms_orig, mtf_kernel(sensor, ratio))
  lh, lw = sh // ratio, sw // ratio
  out = np.empty_like(lms)
  for bi in range(big_h // sh):
    for bj in range(big_w // sw):
      lo = (slice(bi * lh, (bi + 1) * lh), slice(bj * lw, (bj + 1) * lw))
      hd = np.concatenate([ms_lp_d[lo], pan_lp_d[lo]], axis=-1).reshape(-1, c + 1)
      target = (ms_orig[lo] - ms_lp_d[lo]).reshape(-1, c)
      gamma = np.linalg.solve(hd.T @ hd, hd.T @ target)  # (Hd' Hd) \ Hd', (C + 1, C)
      hi = (slice(bi * sh, (bi + 1) * sh), slice(bj * sw, (bj + 1) * sw))
      design = np.concatenate([lms[hi], pan[hi]], axis=-1)
      out[hi] = lms[hi] + design @ gamma
  return out
