"""metrics.q2n: Q2n against a slow transcription of q2n.m (hypercomplex products)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srino_jax.metrics import hypercomplex_product, q2n
from _metric_images import random_image as _image


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
