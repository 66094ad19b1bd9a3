"""metrics.full: UQI blocks, D_s, D_lambda_K and HQNR against D_s.m / HQNR.m definitions."""

from __future__ import annotations

import numpy as np
import pytest

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.toolbox.resize import imresize
from srino_jax.metrics import d_lambda_khan, d_s, full_resolution, hqnr, q2n, uqi_blocks
from srino_jax.sensors import get_sensor
from _metric_images import random_image as _image, smooth_scene as _smooth_scene


def _uqi_matlab(x, y):
  c = np.cov(x.ravel(), y.ravel())
  mx, my = x.mean(), y.mean()
  return 4 * c[0, 1] * mx * my / (c[0, 0] + c[1, 1]) / (mx ** 2 + my ** 2)


def test_uqi_blocks_match_blockproc_with_partial_blocks():
  rng = np.random.default_rng(7)
  x, y = _image(rng, 40, 50, 2), _image(rng, 40, 50, 1)
  got = uqi_blocks(x, y + 0.5 * x[..., :1], 16)
  assert got.shape == (3, 4, 2)
  y2 = y + 0.5 * x[..., :1]
  for i in range(3):
    for j in range(4):
      for b in range(2):
        sl = (slice(16 * i, 16 * i + 16), slice(16 * j, 16 * j + 16))
        assert got[i, j, b] == pytest.approx(_uqi_matlab(x[sl][..., b], y2[sl][..., 0]),
                                             rel=1e-12)


def test_d_s_matches_definition():
  rng = np.random.default_rng(8)
  pan = _smooth_scene(rng, 64, 64, 1, sigma=2.0)
  ms = _smooth_scene(rng, 16, 16, 4, sigma=1.0)
  lms = interp23tap(ms)
  fused = lms + 0.8 * (pan - pan.mean())
  pan_filt = interp23tap(imresize(pan, 0.25))
  want = np.mean([abs(np.mean([_uqi_matlab(fused[i:i + 32, j:j + 32, b], pan[i:i + 32, j:j + 32, 0])
                               for i in (0, 32) for j in (0, 32)])
                      - np.mean([_uqi_matlab(lms[i:i + 32, j:j + 32, b],
                                             pan_filt[i:i + 32, j:j + 32, 0])
                                 for i in (0, 32) for j in (0, 32)])) for b in range(4)])
  assert d_s(fused, ms, pan) == pytest.approx(want, rel=1e-10)
  assert d_s(fused, ms, pan[..., 0]) == pytest.approx(want, rel=1e-10)   # PAN as H x W
  assert d_s(fused, None, pan, lms=lms) == pytest.approx(want, rel=1e-10)


def test_d_s_is_zero_when_fused_pan_relation_equals_lms_pan_lr_relation():
  """fused_b = k_b PAN and ms_lr_b = k_b imresize(PAN, 1/4) give lms_b = k_b PAN_lr_up.

  UQI(k y, y) = 4 k^2 / (1 + k^2)^2 for every block whatever y is, so Q_high_b = Q_low_b.
  """
  rng = np.random.default_rng(9)
  pan = _smooth_scene(rng, 64, 64, 1, sigma=2.0)
  k = np.array([0.5, 0.9, 1.3, 2.0])
  fused = pan * k
  ms_lr = imresize(pan, 0.25) * k
  assert d_s(fused, ms_lr, pan) == pytest.approx(0.0, abs=1e-12)
  # The same fused image against an lms that does not share that relation is penalised.
  assert d_s(fused, ms_lr[..., ::-1] + 100.0, pan) > 1e-3


@pytest.mark.parametrize("sensor", ["qb", "wv3"])
def test_d_lambda_khan(sensor):
  sensor = get_sensor(sensor)
  rng = np.random.default_rng(10)
  truth = _smooth_scene(rng, 128, 128, sensor.bands)
  ms_lr = mtf_filter(truth, sensor)[2::4, 2::4]      # Wald: MTF filter, keep x[2::4, 2::4]
  lms = interp23tap(ms_lr)
  d_true = d_lambda_khan(truth, lms, sensor)
  assert d_true == pytest.approx(1.0 - q2n(lms, mtf_filter(truth, sensor)), abs=1e-15)
  assert d_true < 0.005
  assert d_lambda_khan(truth[..., ::-1], lms, sensor) > 0.05
  assert d_lambda_khan(truth * rng.uniform(0.6, 1.4, sensor.bands), lms, sensor) > 10 * d_true
  # lms equal to the MTF-filtered fused image: no spectral distortion at all.
  assert d_lambda_khan(truth, mtf_filter(truth, sensor), sensor) == pytest.approx(0.0, abs=1e-12)


def test_hqnr_formula_and_default_lms():
  rng = np.random.default_rng(11)
  truth = _smooth_scene(rng, 64, 64, 4, sigma=2.0)
  pan = truth.mean(axis=-1, keepdims=True)
  ms_lr = mtf_filter(truth, "qb")[2::4, 2::4]
  fused = interp23tap(ms_lr) + 0.5 * (pan - interp23tap(imresize(pan, 0.25)))
  h, dl, ds = hqnr(fused, ms_lr, pan, "qb")
  assert dl == pytest.approx(d_lambda_khan(fused, interp23tap(ms_lr), "qb"), abs=1e-15)
  assert ds == pytest.approx(d_s(fused, ms_lr, pan), abs=1e-15)
  assert h == pytest.approx((1 - dl) * (1 - ds), abs=1e-15)
  assert 0 < dl < 0.2 and 0 < ds < 0.2
  assert hqnr(fused, ms_lr, pan, "qb", lms=interp23tap(ms_lr)) == (h, dl, ds)
  res = full_resolution(fused, ms_lr, pan, "qb")
  assert (res["HQNR"], res["D_lambda_K"], res["D_s"]) == (h, dl, ds)
