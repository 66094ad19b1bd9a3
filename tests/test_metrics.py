"""Quality indices against hand-computed values, invariants and slow reference implementations
written here from the toolbox's definitions (SAM.m, ERGAS.m, SCC.m, q2n.m, D_s.m, HQNR.m)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage as ndi

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.toolbox.resize import imresize
from srino_jax.metrics import (d_lambda_khan, d_s, ergas, full_resolution, hqnr,
                               hypercomplex_product, psnr, q2n, reduced_resolution, sam,
                               scc, score_stack, uqi_blocks)
from srino_jax.sensors import get_sensor


def _image(rng, h, w, c, lo=100.0, hi=1800.0):
  return rng.uniform(lo, hi, size=(h, w, c))


def _smooth_scene(rng, h, w, c, sigma=4.0):
  """Periodic smooth scene in [200, 1700] DN with correlated bands (Wald-consistent)."""
  base = ndi.gaussian_filter(rng.normal(size=(h, w)), sigma, mode="wrap")
  spec = ndi.gaussian_filter(rng.normal(size=(h, w, c)), (2 * sigma, 2 * sigma, 0), mode="wrap")
  x = base[..., None] * rng.uniform(0.8, 1.2, c) + 0.5 * spec / spec.std() * base.std()
  x = (x - x.min()) / (x.max() - x.min())
  return 200.0 + 1500.0 * x


# ---------------------------------------------------------------- PSNR, SAM, ERGAS, SCC


@pytest.mark.parametrize("bands", [4, 8])
def test_identities(bands):
  x = _image(np.random.default_rng(0), 40, 36, bands)
  assert sam(x, x) < 1e-5
  assert ergas(x, x) == 0.0
  assert scc(x, x) == pytest.approx(1.0, abs=1e-12)
  assert q2n(x, x) == pytest.approx(1.0, abs=1e-12)
  assert psnr(x, x, 2047) == np.inf


def test_psnr_formula_and_monotone():
  rng = np.random.default_rng(1)
  ref = _image(rng, 16, 16, 4)
  offsets = np.array([1.0, 2.0, 4.0, 8.0])
  # Constant error d_b in band b: MSE_b = d_b^2.
  want = np.mean(10 * np.log10(2047.0 ** 2 / offsets ** 2))
  assert psnr(ref, ref + offsets, 2047) == pytest.approx(want, rel=1e-12)
  # Equal to PSNR with peak 1 on images divided by the max.
  assert psnr(ref / 2047, (ref + offsets) / 2047, 1.0) == pytest.approx(want, rel=1e-12)
  noise = rng.normal(size=ref.shape)
  values = [psnr(ref, ref + s * noise, 2047) for s in (30.0, 10.0, 3.0, 1.0)]
  assert all(a < b for a, b in zip(values, values[1:]))


def test_sam_known_angle_dropped_pixels_and_pixel_scaling():
  ref = np.zeros((1, 3, 2))
  out = np.zeros((1, 3, 2))
  ref[0, 0], out[0, 0] = (1, 0), (1, 1)       # 45 degrees
  ref[0, 1], out[0, 1] = (0, 2), (0, 5)       # 0 degrees
  ref[0, 2], out[0, 2] = (3, 4), (0, 0)       # norm product 0: dropped
  assert sam(ref, out) == pytest.approx(22.5, abs=1e-12)
  rng = np.random.default_rng(2)
  ref = _image(rng, 20, 20, 8)
  out = ref + rng.normal(0, 40, ref.shape)
  scale = rng.uniform(0.1, 10, size=(20, 20, 1))   # a positive factor per pixel spectrum
  assert sam(ref, out * scale) == pytest.approx(sam(ref, out), rel=1e-10)
  assert sam(ref * scale, out) == pytest.approx(sam(ref, out), rel=1e-10)


def test_ergas_by_hand_and_scaling():
  ref = np.zeros((2, 2, 2))
  ref[..., 0], ref[..., 1] = 10.0, 20.0
  out = ref.copy()
  out[..., 0] += np.array([[1.0, -1.0], [-1.0, 1.0]])   # MSE 1, mean 10
  out[..., 1] += 2.0                                   # MSE 4, mean 20
  # 100/4 * sqrt((1/100 + 4/400) / 2) = 25 * 0.1
  assert ergas(ref, out, ratio=4) == pytest.approx(2.5, rel=1e-12)
  assert ergas(ref, out, ratio=2) == pytest.approx(5.0, rel=1e-12)
  rng = np.random.default_rng(3)
  a = _image(rng, 24, 24, 4)
  b = a + rng.normal(0, 20, a.shape)
  assert ergas(7.3 * a, 7.3 * b) == pytest.approx(ergas(a, b), rel=1e-12)


def _scc_reference(ref, out):
  """SCC.m with scipy: Sobel and its transpose on I(2:end-1, 2:end-1), zero padding."""
  sobel = np.array([[1.0, 2.0, 1.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -1.0]])

  def mag(img):
    inner = img[1:-1, 1:-1]
    out = np.empty_like(inner)
    for b in range(inner.shape[-1]):
      gy = ndi.correlate(inner[..., b], sobel, mode="constant", cval=0.0)
      gx = ndi.correlate(inner[..., b], sobel.T, mode="constant", cval=0.0)
      out[..., b] = np.hypot(gy, gx)
    return out

  f, g = mag(out), mag(ref)
  return np.sum(f * g) / np.sqrt(np.sum(f ** 2)) / np.sqrt(np.sum(g ** 2))


def test_scc_against_reference():
  rng = np.random.default_rng(4)
  ref = _image(rng, 30, 26, 4)
  out = ref + rng.normal(0, 200, ref.shape)
  assert scc(ref, out) == pytest.approx(_scc_reference(ref, out), rel=1e-12)
  assert scc(ref, out) < 0.99
  assert scc(ref, 3.0 * ref) == pytest.approx(1.0, abs=1e-12)  # gradients scale
  # imfilter's zero padding turns an offset into edges at the border: SCC.m is not
  # offset-invariant, and neither is this.
  assert scc(ref, ref + 100.0) < 1.0 - 1e-6


# ---------------------------------------------------------------- Q2n


def _cj(t):
  return (t[0],) + tuple(-v for v in t[1:])


def _cd_mult(p, q):
  """Toolbox onion_mult, recursion on tuples of floats."""
  n = len(p)
  if n == 1:
    return (p[0] * q[0],)
  h = n // 2
  a, b = p[:h], _cj(p[h:])
  c, d = q[:h], _cj(q[h:])
  if n == 2:
    return (a[0] * c[0] - d[0] * b[0], a[0] * d[0] + c[0] * b[0])
  r1, r2 = _cd_mult(a, c), _cd_mult(d, _cj(b))
  r3, r4 = _cd_mult(_cj(a), d), _cd_mult(c, b)
  return tuple(x - y for x, y in zip(r1, r2)) + tuple(x + y for x, y in zip(r3, r4))


def _q2n_slow(ref, out, bs, shift):
  """q2n.m + onions_quality.m with explicit loops over blocks, bands and pixels."""
  h, w, c = ref.shape
  sx, sy = math.ceil(h / shift), math.ceil(w / shift)
  ex, ey = (sx - 1) * shift + bs - h, (sy - 1) * shift + bs - w

  def pad(img):
    p = np.zeros((h + ex, w + ey, c))
    p[:h, :w] = img
    for j in range(ey):                       # ia(:, N2+1:N2+est2) = ia(:, N2:-1:N2-est2+1)
      p[:h, w + j] = p[:h, w - 1 - j]
    for i in range(ex):                       # then the rows, padded columns included
      p[h + i, :] = p[h - 1 - i, :]
    return p

  def u16(v):
    return float(min(max(math.floor(v + 0.5), 0), 65535))

  r, f = pad(ref), pad(out)
  k = 2 ** math.ceil(math.log2(c)) if c > 1 else 1
  n = bs * bs
  vals = []
  for bi in range(sx):
    for bj in range(sy):
      z1, z2 = [], []
      for y in range(bi * shift, bi * shift + bs):
        for x in range(bj * shift, bj * shift + bs):
          z1.append([u16(r[y, x, b]) for b in range(c)] + [0.0] * (k - c))
          z2.append([u16(f[y, x, b]) for b in range(c)] + [0.0] * (k - c))
      for b in range(k):                       # norm_blocco with the reference's stats
        col = [p[b] for p in z1]
        mu = sum(col) / n
        sd = math.sqrt(sum((v - mu) ** 2 for v in col) / (n - 1)) or np.finfo(float).eps
        for p1, p2 in zip(z1, z2):
          p1[b] = (p1[b] - mu) / sd + 1
          p2[b] = (p2[b] - mu + 1) if mu == 0 else ((p2[b] - mu) / sd + 1)
      z1 = [tuple(p) for p in z1]
      z2 = [_cj(tuple(p)) for p in z2]         # fused pixels conjugated
      m1 = tuple(sum(p[b] for p in z1) / n for b in range(k))
      m2 = tuple(sum(p[b] for p in z2) / n for b in range(k))
      a1, a2 = sum(v * v for v in m1), sum(v * v for v in m2)
      var = n / (n - 1) * (sum(sum(v * v for v in p) for p in z1) / n
                           + sum(sum(v * v for v in p) for p in z2) / n - a1 - a2)
      bias = 2 * math.sqrt(a1) * math.sqrt(a2) / (a1 + a2)
      if var == 0:
        q = (0.0,) * (k - 1) + (bias,)
      else:
        prods = [_cd_mult(p1, p2) for p1, p2 in zip(z1, z2)]
        mm = _cd_mult(m1, m2)
        q = tuple(n / (n - 1) * (sum(p[b] for p in prods) / n - mm[b]) * bias * 2 / var
                  for b in range(k))
      vals.append(math.sqrt(sum(v * v for v in q)))
  return sum(vals) / len(vals)


@pytest.mark.parametrize("bands,size,bs,shift", [
    (4, (64, 64), 32, 32),     # Q4, exact blocks
    (8, (40, 56), 16, 16),     # Q8, mirror padding at bottom and right
    (3, (24, 20), 16, 16),     # 3 bands padded with a zero band to 4
    (4, (32, 32), 16, 8),      # overlapping blocks
])
def test_q2n_matches_slow_reference(bands, size, bs, shift):
  rng = np.random.default_rng(bands * 100 + bs)
  ref = _image(rng, *size, bands)
  out = ref + rng.normal(0, 150, ref.shape) + rng.uniform(-100, 100, bands)
  out[0, 0, 0] = -7.6                       # clipped to 0 by uint16
  out[1, 1, 0] = 70000.0                    # saturates at 65535
  fast = q2n(ref, out, bs, shift)
  assert fast == pytest.approx(_q2n_slow(ref, out, bs, shift), abs=1e-10)
  assert 0.0 < fast < 0.99


def test_q2n_zero_reference_band_is_shifted_not_scaled():
  """norm_blocco gives a zero-mean reference block std eps; the toolbox then only shifts
  the fused band (dat2 - s + 1) instead of dividing by eps."""
  rng = np.random.default_rng(15)
  ref = _image(rng, 32, 32, 4)
  ref[:16, :, 2] = 0.0                     # band 2 of the top block is all zero
  out = ref + rng.uniform(0, 3, ref.shape)
  fast = q2n(ref, out, 16, 16)
  assert fast == pytest.approx(_q2n_slow(ref, out, 16, 16), abs=1e-10)
  assert 0.1 < fast < 0.99


def test_q2n_rounds_like_uint16():
  rng = np.random.default_rng(5)
  ref = np.round(_image(rng, 32, 32, 4))
  # Sub-half perturbations vanish in the uint16 rounding: the index is exactly 1.
  assert q2n(ref, ref + rng.uniform(-0.49, 0.49, ref.shape)) == pytest.approx(1.0, abs=1e-12)
  # MATLAB rounds halves away from zero (not to even): x + 0.5 becomes x + 1 everywhere.
  assert q2n(ref, ref + 0.5) == q2n(ref, ref + 1.0) < 1.0


def test_q4_of_a_mean_offset_follows_the_formula():
  """y = x + c per band: sigma_12 = sigma_1^2 = sigma_2^2, so q = mean_bias per block.

  With the reference normalised to mean 1 per band, |m1| = 2 (4 bands) and the fused means
  are 1 + c_b / std_b, giving Q = 2 |m1| |m2| / (|m1|^2 + |m2|^2) per block.
  """
  rng = np.random.default_rng(6)
  x = np.round(rng.uniform(300, 900, (64, 64, 4)) * rng.uniform(0.5, 2.0, 4))
  c = np.array([40.0, -25.0, 120.0, 0.0])
  want = []
  for bi in range(2):
    for bj in range(2):
      block = x[32 * bi:32 * bi + 32, 32 * bj:32 * bj + 32]
      std = block.reshape(-1, 4).std(axis=0, ddof=1)
      m2 = np.linalg.norm(1.0 + c / std)
      want.append(2 * 2.0 * m2 / (4.0 + m2 ** 2))
  assert q2n(x, x + c) == pytest.approx(np.mean(want), abs=1e-12)
  assert np.mean(want) < 0.999


@pytest.mark.parametrize("k", [2, 4, 8])
def test_hypercomplex_product_is_the_toolbox_recursion_and_multiplicative(k):
  rng = np.random.default_rng(k)
  p, q = rng.normal(size=(20, k)), rng.normal(size=(20, k))
  got = hypercomplex_product(p, q)
  want = np.array([_cd_mult(tuple(a), tuple(b)) for a, b in zip(p, q)])
  np.testing.assert_allclose(got, want, atol=1e-13)
  # Complex numbers, quaternions, octonions are composition algebras: |pq| = |p||q|.
  np.testing.assert_allclose(np.linalg.norm(got, axis=1),
                             np.linalg.norm(p, axis=1) * np.linalg.norm(q, axis=1), rtol=1e-12)


# ---------------------------------------------------------------- D_lambda_K, D_s, HQNR


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


def test_full_resolution_border_cut_after_filtering():
  """Our dim_cut extension at full resolution: filter the whole scene, then cut every input
  of the two distortions with the toolbox's slice (0-based rows 4 .. 58 for dim_cut 5)."""
  rng = np.random.default_rng(16)
  truth = _smooth_scene(rng, 64, 64, 4, sigma=2.0)
  pan = truth.mean(axis=-1, keepdims=True)
  ms_lr = mtf_filter(truth, "qb")[2::4, 2::4]
  lms = interp23tap(ms_lr)
  fused = lms + 0.7 * (pan - interp23tap(imresize(pan, 0.25)))
  cut = (slice(4, 59), slice(4, 59))
  f, fm, l, p = fused[cut], mtf_filter(fused, "qb")[cut], lms[cut], pan[cut]
  pf = interp23tap(imresize(pan, 0.25))[cut]
  dl = 1 - q2n(l, fm)
  ds = np.mean(np.abs(np.mean(uqi_blocks(f, p, 32), axis=(0, 1))
                      - np.mean(uqi_blocks(l, pf, 32), axis=(0, 1))))
  res = full_resolution(fused, ms_lr, pan, "qb", dim_cut=5)
  assert res["D_lambda_K"] == pytest.approx(dl, abs=1e-14)
  assert res["D_s"] == pytest.approx(ds, abs=1e-14)
  assert res["HQNR"] == pytest.approx((1 - dl) * (1 - ds), abs=1e-14)
  assert res["D_s"] != full_resolution(fused, ms_lr, pan, "qb")["D_s"]


# ---------------------------------------------------------------- score sets and stacks


def test_reduced_resolution_cut_and_clip_follow_the_toolbox():
  rng = np.random.default_rng(12)
  gt = _image(rng, 64, 64, 4)
  fused = gt + rng.normal(0, 300, gt.shape)
  res = reduced_resolution(fused, gt, "qb", dim_cut=5, clip=True)
  # I(dim_cut:end-dim_cut) in MATLAB = 0-based rows 4 .. 58; th_values clips to 2^11 = 2048.
  g, f = gt[4:59, 4:59], np.clip(fused[4:59, 4:59], 0, 2048)
  assert res == {"PSNR": psnr(g, f, 2047), "SAM": sam(g, f), "ERGAS": ergas(g, f),
                 "SCC": scc(g, f), "Q2n": q2n(g, f)}
  plain = reduced_resolution(fused, gt, "qb")
  assert plain["Q2n"] == q2n(gt, fused) and plain["PSNR"] == psnr(gt, fused, 2047)


def test_score_stack_per_image_and_summary():
  rng = np.random.default_rng(13)
  gt = np.stack([_image(rng, 32, 32, 4) for _ in range(3)])
  fused = gt + rng.normal(0, 50, gt.shape) * np.array([1.0, 2.0, 4.0])[:, None, None, None]
  s = score_stack("reduced", fused, sensor="qb", gt=gt)
  for i in range(3):
    one = reduced_resolution(fused[i], gt[i], "qb")
    assert {k: s["per_image"][k][i] for k in one} == one
  ergas_vals = s["per_image"]["ERGAS"]
  assert s["mean"]["ERGAS"] == pytest.approx(np.mean(ergas_vals))
  assert s["std"]["ERGAS"] == pytest.approx(np.std(ergas_vals, ddof=1))   # MATLAB std
  assert list(s["per_image"]["PSNR"]) == sorted(s["per_image"]["PSNR"], reverse=True)


def test_bad_inputs_raise_clear_errors():
  rng = np.random.default_rng(14)
  x = _image(rng, 32, 32, 4)
  with pytest.raises(ValueError, match="bands"):
    reduced_resolution(x, x, "wv3")
  with pytest.raises(ValueError, match="shape"):
    sam(x, x[:16])
  bad = x.copy()
  bad[3, 3, 1] = np.nan
  with pytest.raises(ValueError, match="NaN"):
    q2n(x, bad)
  with pytest.raises(ValueError, match="multiple"):
    d_lambda_khan(x[:30], x[:30], "qb")
  with pytest.raises(ValueError, match="gt"):
    score_stack("reduced", x[None], sensor="qb")
