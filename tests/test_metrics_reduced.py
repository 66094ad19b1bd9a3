"""metrics.reduced: PSNR, SAM, ERGAS, SCC against hand values and a slow SCC.m reference."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from srino_jax.metrics import ergas, psnr, q2n, sam, scc
from _metric_images import random_image as _image


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


def test_the_two_psnr_conventions_by_hand():
  """PSNR (toolbox): mean over bands of 10 log10(max^2 / MSE_b); PSNR_MSE: one MSE over all
  bands. Band MSEs 1 and 100 at max 10: 0.5 (20 + 0) = 10 dB against 10 log10(100 / 50.5)."""
  from srino_jax.metrics import psnr, psnr_mse
  ref = np.zeros((4, 4, 2))
  out = np.stack([np.ones((4, 4)), 10 * np.ones((4, 4))], -1)
  assert psnr(ref, out, 10.0) == pytest.approx(10.0)
  assert psnr_mse(ref, out, 10.0) == pytest.approx(10 * np.log10(100 / 50.5))
  assert psnr(ref, out, 10.0) >= psnr_mse(ref, out, 10.0)  # Jensen: never below
