"""baselines.mra: SFIM and the MTF-GLP family (band-limited PAN, regressions, HPM-R)."""

from __future__ import annotations

import numpy as np
import pytest

from srino_jax.baselines import fuse
from srino_jax.baselines.common import glp_lowpass
from srino_jax.baselines.mra import mtf_glp_cbd, mtf_glp_fs
from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_kernel
from srino_jax.sensors import get_sensor
from _baseline_data import ramp_pan as _ramp_pan, random_pair as _random_pair

MTF_GLP_MARGIN = 48  # HR pixels touched by replicate MTF borders + circular interp23tap


def test_sfim_with_ramp_pan_returns_upsampled_ms():
  """A linear PAN is unchanged by the 5 x 5 box filter away from the border: no detail."""
  ms_lr, _ = _random_pair(9)
  lms = interp23tap(ms_lr, 4)
  out = fuse("sfim", ms_lr, _ramp_pan(96), "WV3")
  np.testing.assert_allclose(out[2:-2, 2:-2], lms[2:-2, 2:-2], rtol=1e-12)


@pytest.mark.parametrize("method", ["mtf-glp", "mtf-glp-hpm", "mtf-glp-fs"])
def test_mtf_glp_with_band_limited_pan_adds_almost_nothing(method):
  """A linear PAN has no detail beyond the MS bandwidth: the GLP low-pass returns it times
  the kernel sum (0.9988 to 0.9989), so the injection is (1 - sum) P ~ 0.1 % of P, or a
  modulation by 1 / sum for HPM, inside the border margin."""
  size, m = 192, MTF_GLP_MARGIN
  rng = np.random.default_rng(10)
  ms_lr = rng.uniform(200, 900, (size // 4, size // 4, 8))
  lms = interp23tap(ms_lr, 4)
  pan = _ramp_pan(size)
  out = fuse(method, ms_lr, pan, "WV3")[m:-m, m:-m]
  inner = lms[m:-m, m:-m]
  ksum = mtf_kernel("WV3").sum(axis=(0, 1))
  if method == "mtf-glp-hpm":
    np.testing.assert_allclose(out / inner, np.broadcast_to(1 / ksum, out.shape), rtol=1e-8)
  else:
    assert np.max(np.abs(out - inner)) < 2e-3 * np.max(np.abs(out))


@pytest.mark.parametrize("method,seed", [(mtf_glp_fs, 11), (mtf_glp_cbd, 13)])
def test_regression_glp_recovers_affine_band_model(method, seed):
  """If each upsampled band is c_k P_L + d_k (P_L its GLP low-pass PAN), the full-scale
  regression of MTF-GLP-FS and GS2_GLP's g_k = cov(P_L, MS_k) / var(P_L) (MTF-GLP-CBD) both
  find g_k = c_k and return exactly c_k P + d_k."""
  rng = np.random.default_rng(seed)
  pan = rng.uniform(100, 1000, (64, 64, 1))
  sensor = get_sensor("QB")
  p_lp = glp_lowpass(pan, mtf_kernel(sensor), 4)
  c, d = np.array([0.5, 1.2, 0.8, 2.0]), np.array([10.0, -5.0, 30.0, 0.0])
  out = method(c * p_lp + d, pan, None, sensor, 4)
  np.testing.assert_allclose(out, c * pan + d, rtol=1e-10)


def test_mtf_glp_hpm_r_formula_and_invariances():
  """MTF_GLP_HPM_R: out_k (P_L + cb_k) = MS_k (P + cb_k) with g_k = cov(MS_k, P_L) / var(P_L)
  and cb_k = mean(MS_k) / g_k - mean(P) (numpy's cov here); a PAN gain changes g and cb
  together and leaves the output unchanged; an MS gain scales it."""
  ms_lr, pan = _random_pair(14, bands=4)
  lms = interp23tap(ms_lr, 4)
  out = fuse("mtf-glp-hpm-r", ms_lr, pan, "QB")
  p_lp = glp_lowpass(pan, mtf_kernel("QB"), 4)
  for k in range(4):
    cov = np.cov(lms[..., k].ravel(), p_lp[..., k].ravel())
    cb = lms[..., k].mean() / (cov[0, 1] / cov[1, 1]) - pan.mean()
    np.testing.assert_allclose(out[..., k] * (p_lp[..., k] + cb),
                               lms[..., k] * (pan[..., 0] + cb), rtol=1e-9)
  np.testing.assert_allclose(fuse("mtf-glp-hpm-r", ms_lr, 3.0 * pan, "QB"), out, rtol=1e-9)
  np.testing.assert_allclose(fuse("mtf-glp-hpm-r", 2.0 * ms_lr, pan, "QB"), 2.0 * out,
                             rtol=1e-9)
