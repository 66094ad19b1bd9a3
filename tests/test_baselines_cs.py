"""baselines.cs: Brovey, BT-H, GS/GSA and BDSD invariants and toolbox references."""

from __future__ import annotations

import numpy as np
import pytest

from srino_jax.baselines import fuse
from srino_jax.baselines.common import _starck_murtagh_lowpass_1d
from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter, mtf_pan_filter
from srino_jax.toolbox.resize import imresize
from srino_jax.sensors import get_sensor
from _baseline_data import random_pair as _random_pair, sam_ref as _sam


def test_brovey_keeps_band_ratios():
  ms_lr, pan = _random_pair(4)
  out = fuse("brovey", ms_lr, pan, "WV3")
  lms = interp23tap(ms_lr, 4)
  # One common factor per pixel, so band ratios (and every spectral angle) are unchanged.
  factor = out / lms
  np.testing.assert_allclose(factor, np.broadcast_to(factor[..., :1], factor.shape), rtol=1e-12)
  assert _sam(lms, out) < 1e-5


def _matlab_prctile(x, p):
  """MATLAB prctile: sorted sample i (1-based) sits at 100 (i - 0.5) / n, linear in between."""
  x = np.sort(x.ravel())
  pos = np.clip(x.size * p / 100 + 0.5, 1, x.size)  # 1-based
  lo = int(np.floor(pos))
  hi = min(lo + 1, x.size)
  return x[lo - 1] + (pos - lo) * (x[hi - 1] - x[lo - 1])


@pytest.mark.parametrize("sensor", ["QB", "WV3"])
def test_bt_h_keeps_haze_corrected_ratios(sensor):
  bands = get_sensor(sensor).bands
  ms_lr, pan = _random_pair(5, bands=bands)
  lms = interp23tap(ms_lr, 4)
  if bands == 4:
    frac = [0.95, 0.45, 0.40, 0.05]
    haze = np.array([f * _matlab_prctile(lms[..., k], 1) for k, f in enumerate(frac)])
  else:
    haze = lms.min(axis=(0, 1))
  out = fuse("bt-h", ms_lr, pan, sensor)
  above = np.all(lms > haze + 1.0, axis=-1)
  factor = (out - haze)[above] / (lms - haze)[above]
  np.testing.assert_allclose(factor, np.broadcast_to(factor[:, :1], factor.shape), rtol=1e-9)


def _centred_details(out, lms):
  d = (out - lms).reshape(-1, out.shape[-1])
  return d - d.mean(axis=0)


def test_gsa_detail_is_rank_one_and_pan_affine_invariant():
  """GSA injects g_k (P0 - I0): the details of all bands are multiples of one image, and
  P -> a P + b rescales alpha, I0 and 1/g alike, leaving the output unchanged."""
  ms_lr, pan = _random_pair(6)
  lms = interp23tap(ms_lr, 4)
  out = fuse("gsa", ms_lr, pan, "WV3")
  s = np.linalg.svd(_centred_details(out, lms), compute_uv=False)
  assert s[1] < 1e-10 * s[0]
  np.testing.assert_allclose(fuse("gsa", ms_lr, 3.0 * pan + 100.0, "WV3"), out, rtol=1e-9)
  assert np.allclose(out.mean(axis=(0, 1)), lms.mean(axis=(0, 1)), rtol=1e-12)


def _ndwt_lowpass_reference(x, levels):
  """Slow transcription of ndwt2_working/indwt2_working's steps along one axis (1-D)."""
  h = np.sqrt(2) * np.array([1, 4, 6, 4, 1]) / 16
  lf = 5
  sizes = [len(x)]
  for _ in range(levels):
    n = len(x)
    ext = np.concatenate([x[lf - 2::-1], x, x[:n - lf - 1:-1]])  # X(lf-1:-1:1), X(end:-1:end-lf+1)
    full = np.convolve(ext, h)  # convn
    full = full[lf - 1:len(full) - lf + 1]  # first = lf, last = lenL - lf + 1
    lc = n + lf - 1
    first = (len(full) - lc) // 2
    x = full[first:first + lc]
    sizes.append(len(x))
  for size in reversed(sizes[:-1]):
    full = np.convolve(x, h) / 2  # (2-D /4) = 1/2 per axis
    f = (len(full) - size) // 2
    c = -(-(len(full) - size) // 2)
    x = full[f:len(full) - c]
  return x


def test_gsa_lowpass_matches_toolbox_wavelet_steps():
  rng = np.random.default_rng(7)
  v = rng.random(37)
  m = _starck_murtagh_lowpass_1d(np.eye(37), 2)
  np.testing.assert_allclose(m @ v, _ndwt_lowpass_reference(v, 2), atol=1e-13)
  np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-13)  # constants kept, borders too
  h = np.array([1, 4, 6, 4, 1]) / 16
  kernel = np.convolve(np.convolve(h, h), np.convolve(h, h))  # interior: 17-tap B-spline
  np.testing.assert_allclose(m[18, 10:27], kernel, atol=1e-15)


def test_bdsd_pan_scale_invariance_and_blocks():
  ms_lr, pan = _random_pair(8)
  out = fuse("bdsd", ms_lr, pan, "WV3")
  np.testing.assert_allclose(fuse("bdsd", ms_lr, 4.0 * pan, "WV3"), out, rtol=1e-9)
  np.testing.assert_array_equal(fuse("bdsd", ms_lr, pan, "WV3", block_size=96), out)
  local = fuse("bdsd", ms_lr, pan, "WV3", block_size=48)
  assert local.shape == out.shape and not np.allclose(local, out)


def _bdsd_reference(lms, pan, sensor, cols_lr=None):
  """BDSD.m's arithmetic written out: MTF_PAN + [3:4:end] decimation, imresize(I_MS, 1/4),
  MTF, least squares at reduced scale over the reduced columns `cols_lr` (a block), and the
  injection on the matching full-scale columns."""
  sensor = get_sensor(sensor)
  c = lms.shape[-1]
  pan_d = mtf_pan_filter(pan, sensor)[2::4, 2::4]
  ms_orig = imresize(lms, 0.25)
  ms_lp = mtf_filter(ms_orig, sensor)
  cols_lr = slice(None) if cols_lr is None else cols_lr
  hd = np.concatenate([ms_lp, pan_d], axis=-1)[:, cols_lr].reshape(-1, c + 1)
  target = (ms_orig - ms_lp)[:, cols_lr].reshape(-1, c)
  gamma, *_ = np.linalg.lstsq(hd, target, rcond=None)
  cols = slice(None) if cols_lr.start is None else slice(4 * cols_lr.start, 4 * cols_lr.stop)
  design = np.concatenate([lms, pan], axis=-1)[:, cols]
  return lms[:, cols] + (design.reshape(-1, c + 1) @ gamma).reshape(design.shape[:2] + (c,))


def test_bdsd_default_blocks_follow_the_toolbox_call():
  """The toolbox scripts call BDSD with S = size(I_MS, 1): a 48 x 96 image is two 48 x 48
  blocks (blockproc), each with its own gamma; where 48 does not divide the width (the
  toolbox errors) the default is one gamma for the whole image."""
  rng = np.random.default_rng(12)
  ms_lr = rng.uniform(200, 900, (12, 24, 4))
  pan = rng.uniform(200, 900, (48, 96, 1))
  lms = interp23tap(ms_lr, 4)
  out = fuse("bdsd", ms_lr, pan, "QB")
  np.testing.assert_array_equal(out, fuse("bdsd", ms_lr, pan, "QB", block_size=48))
  np.testing.assert_allclose(out[:, :48], _bdsd_reference(lms, pan, "QB", slice(0, 12)),
                             rtol=1e-9, atol=1e-7)
  np.testing.assert_allclose(out[:, 48:], _bdsd_reference(lms, pan, "QB", slice(12, 24)),
                             rtol=1e-9, atol=1e-7)
  assert not np.allclose(out, _bdsd_reference(lms, pan, "QB"), rtol=1e-3)
  ms_lr2, pan2 = ms_lr[:, :20], pan[:, :80]
  np.testing.assert_allclose(fuse("bdsd", ms_lr2, pan2, "QB"),
                             _bdsd_reference(interp23tap(ms_lr2, 4), pan2, "QB"),
                             rtol=1e-9, atol=1e-7)
