"""Multi-resolution-analysis (MRA) baselines of the pan-sharpening toolbox (Vivone et al.).

Same calling convention as `cs.py`: (lms, pan, ms_lr, sensor, ratio) -> (H, W, C) float64,
digital numbers. MTF-GLP's low-pass PAN is the toolbox's: each band's genMTF filter
(replicate borders), 'nearest' decimation at [r//2::r], interp23tap back to full size.
"""

from __future__ import annotations

import numpy as np

from srino_jax.baselines.common import (EPS, band_mean, band_std, cov_xy, glp_lowpass,
                                        lp_filter_gauss)
from srino_jax.toolbox.mtf import filter_replicate, mtf_kernel
from srino_jax.sensors import Sensor

__all__ = ["sfim", "mtf_glp", "mtf_glp_hpm", "mtf_glp_fs", "mtf_glp_hpm_r", "mtf_glp_cbd"]


def _match_pan_to_bands(pan: np.ndarray, lms: np.ndarray, ratio: int) -> np.ndarray:
  """2021 toolbox MTF_GLP*.m equalisation (Alparone 2017 inter-sensor matching):

  P_k = (P - mean2(P)) std2(MS_k) / std2(LPfilterGauss(P)) + mean2(MS_k), (H, W, C).
  """
  std_lp = float(lp_filter_gauss(pan, ratio).std(ddof=1))
  return (pan - pan.mean()) * (band_std(lms) / std_lp) + band_mean(lms)


def sfim(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """SFIM.m (2015 toolbox): PAN matched per band (std/mean), fused = MS P_k / (box(P_k) + eps).

  The box filter is (r + 1) x (r + 1) for an even ratio (5 x 5 for r = 4), replicate borders.
  """
  size = ratio + 1 if ratio % 2 == 0 else ratio
  p = (pan - pan.mean()) * (band_std(lms) / float(pan.std(ddof=1))) + band_mean(lms)
  box = np.full((size, size, 1), 1.0 / (size * size))  # fspecial('average', [size size])
  p_lp = filter_replicate(p, box)
  return lms * p / (p_lp + EPS)


def mtf_glp(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """MTF_GLP.m (additive injection, unit gains): fused = MS + P_k - GLP_lowpass(P_k)."""
  p = _match_pan_to_bands(pan, lms, ratio)
  return lms + p - glp_lowpass(p, mtf_kernel(sensor, ratio), ratio)


def mtf_glp_hpm(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """MTF_GLP_HPM.m (high-pass modulation): fused = MS P_k / (GLP_lowpass(P_k) + eps)."""
  p = _match_pan_to_bands(pan, lms, ratio)
  return lms * (p / (glp_lowpass(p, mtf_kernel(sensor, ratio), ratio) + EPS))


def mtf_glp_fs(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """MTF_GLP_FS.m (Vivone 2018): full-scale regression of the injection gains.

  No PAN equalisation. Per band: P_L = GLP_lowpass(P) with that band's MTF,
  g_k = cov(MS_k, P) / cov(P_L, P), fused_k = MS_k + g_k (P - P_L).
  """
  p_lp = glp_lowpass(pan, mtf_kernel(sensor, ratio), ratio)  # (H, W, C), one per band kernel
  out = np.empty_like(lms)
  for k in range(lms.shape[-1]):
    g = cov_xy(lms[..., k], pan) / cov_xy(p_lp[..., k], pan)
    out[..., k] = lms[..., k] + g * (pan[..., 0] - p_lp[..., k])
  return out


def mtf_glp_hpm_r(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """MTF_GLP_HPM_R.m (2021 toolbox): HPM with a regression-based offset, no equalisation.

  Per band: P_L = GLP_lowpass(P) with that band's MTF, g_k = cov(MS_k, P_L) / var(P_L),
  c_k = mean(MS_k) / g_k - mean(P), fused_k = MS_k (P + c_k) / (P_L + c_k + eps).
  """
  p_lp = glp_lowpass(pan, mtf_kernel(sensor, ratio), ratio)
  out = np.empty_like(lms)
  for k in range(lms.shape[-1]):
    g = cov_xy(lms[..., k], p_lp[..., k]) / cov_xy(p_lp[..., k], p_lp[..., k])
    cb = lms[..., k].mean() / g - pan.mean()
    out[..., k] = lms[..., k] * (pan[..., 0] + cb) / (p_lp[..., k] + cb + EPS)
  return out


def mtf_glp_cbd(lms, pan, ms_lr, sensor: Sensor, ratio: int) -> np.ndarray:
  """GS2_GLP.m (the 2021 toolbox's MTF-GLP-CBD): context-based decision gains, no equalisation.

  Per band: P_L = GLP_lowpass(P) with that band's MTF, g_k = cov(P_L, MS_k) / var(P_L),
  fused_k = MS_k + g_k (P - P_L).
  """
  p_lp = glp_lowpass(pan, mtf_kernel(sensor, ratio), ratio)
  out = np.empty_like(lms)
  for k in range(lms.shape[-1]):
    g = cov_xy(p_lp[..., k], lms[..., k]) / cov_xy(p_lp[..., k], p_lp[..., k])
    out[..., k] = lms[..., k] + g * (pan[..., 0] - p_lp[..., k])
  return out
