"""Tests of the toolbox-exact operators: MTF filters, interp23tap, MATLAB imresize, Wald."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.io

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import (gaussian_mtf_kernel, mtf_filter, mtf_kernel, mtf_pan_filter,
                                mtf_pan_kernel)
from srino_jax.toolbox.resize import imresize
from srino_jax.toolbox.wald import wald_degrade
from srino_jax.sensors import get_sensor

SENSORS = ["WV3", "WV2", "QB", "GF2", "IKONOS"]


def _dtft_1d(kernel2d: np.ndarray, f: float) -> float:
  """Frequency response of a centred 2-D kernel at (f, 0) cycles/pixel."""
  n = kernel2d.shape[0]
  x = np.arange(n) - (n - 1) / 2
  return float(np.real(kernel2d.sum(axis=0) @ np.exp(-2j * np.pi * f * x)))


# ---------------------------------------------------------------- MTF kernels


@pytest.mark.parametrize("name", SENSORS)
def test_mtf_kernel_nyquist_gain(name):
  """Response at Nyquist vs the band gains.

  genMTF puts the gain exactly on the frequency-sampling grid point k = (N-1) fcut / 2 = 5 of
  the N = 41 point DFT, i.e. f = 5/41 = 0.1220 cycles/pixel, not at 1/8: at f = 1/8 the
  unwindowed response is gain ** ((N/(N-1))**2) (0.3319 for gain 0.35, 0.0984 for 0.11).
  The Kaiser window (beta 0.5) then moves the response by at most 3.1e-4 (measured, largest
  for the PAN gain 0.11). So: |H(5/41) - gain| < 5e-4, |H(1/8) - gain^(41/40)^2| < 5e-4, and
  |H(1/8) - gain| < 0.02 (measured at most 0.0183, for gain 0.365).
  """
  sensor = get_sensor(name)
  n, ratio = 41, 4
  kernels = [mtf_kernel(sensor, ratio)[..., b] for b in range(sensor.bands)]
  gains = list(sensor.ms_gains)
  kernels.append(mtf_pan_kernel(sensor, ratio)[..., 0])
  gains.append(sensor.pan_gain)
  for k, g in zip(kernels, gains):
    np.testing.assert_allclose(k, k.T, atol=1e-15)  # circular symmetry of the design
    assert abs(_dtft_1d(k, 5 / 41) - g) < 5e-4
    assert abs(_dtft_1d(k, 1 / (2 * ratio)) - g ** ((n / (n - 1)) ** 2)) < 5e-4
    assert abs(_dtft_1d(k, 1 / (2 * ratio)) - g) < 0.02


def test_lpfiltergauss_span_puts_gain_at_nyquist():
  """With alpha computed from N instead of N - 1 (the toolbox's LPfilterGauss), the sampled
  response hits the gain exactly at 1/(2r); only the Kaiser window moves it (< 5e-4)."""
  k = gaussian_mtf_kernel(0.3, 4, 41, span=41)
  assert abs(_dtft_1d(k, 1 / 8) - 0.3) < 5e-4
  np.testing.assert_array_equal(gaussian_mtf_kernel(0.3, 4), mtf_kernel("GF2")[..., 0])


@pytest.mark.parametrize("name", SENSORS)
def test_mtf_kernel_sum_and_shape(name):
  sensor = get_sensor(name)
  k = mtf_kernel(name)
  assert k.shape == (41, 41, sensor.bands) and k.dtype == np.float64
  sums = k.sum(axis=(0, 1))
  assert np.all((sums > 0.99) & (sums < 1.0))  # not renormalised (toolbox: ~0.999)
  # The response at DC is the sum, and the peak tap is the centre one.
  assert np.all(k[20, 20] == k.max(axis=(0, 1)))


def test_mtf_kernel_matches_sampled_gaussian_design():
  """Without the window, the design is the inverse DFT of the sampled Gaussian response."""
  from srino_jax.toolbox import mtf as mtf_mod
  n, g = 41, 0.3
  alpha = math.sqrt((40 * 0.125) ** 2 / (-2 * math.log(g)))
  x = np.arange(n) - 20
  hd = np.exp(-(x[None] ** 2 + x[:, None] ** 2) / (2 * alpha ** 2))  # Hd = H / max(H)
  hd[hd < np.finfo(float).eps] = 0.0
  raw = np.real(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(hd))))
  window = mtf_mod._huang_window(mtf_mod._kaiser(n))
  np.testing.assert_allclose(mtf_kernel("GF2")[..., 0], raw * window, atol=1e-15)
  # Kaiser(41, 0.5) end value I0(0)/I0(0.5) and the circular window is zero in the corners.
  assert mtf_mod._kaiser(n)[0] == pytest.approx(1 / 1.0634833707413236, rel=1e-12)
  assert window[0, 0] == 0.0 and window[20, 20] == 1.0


@pytest.mark.parametrize("name", ["WV3", "QB"])
def test_mtf_filter_constant_and_replicate(name):
  sensor = get_sensor(name)
  c = 1234.5
  img = np.full((40, 36, sensor.bands), c, np.float32)
  out = mtf_filter(img, name)
  assert out.dtype == np.float64
  expected = c * mtf_kernel(name).sum(axis=(0, 1))
  np.testing.assert_allclose(out, np.broadcast_to(expected, out.shape), rtol=1e-12)
  pan = mtf_pan_filter(np.full((40, 36), c), name)
  np.testing.assert_allclose(pan, c * mtf_pan_kernel(name).sum(), rtol=1e-12)


def test_mtf_filter_equals_direct_replicate_correlation():
  """FFT path == a direct loop of MATLAB imfilter(x, h, 'replicate') on a small image."""
  rng = np.random.default_rng(0)
  img = rng.random((9, 11, 4))
  k = mtf_kernel("QB")
  out = mtf_filter(img, "QB")
  ref = np.zeros_like(img)
  for i in range(9):
    for j in range(11):
      for a in range(41):
        for b in range(0, 41, 1):
          ii = min(max(i + a - 20, 0), 8)
          jj = min(max(j + b - 20, 0), 10)
          ref[i, j] += k[a, b] * img[ii, jj]
  np.testing.assert_allclose(out, ref, atol=1e-12)


def test_mtf_filter_bad_inputs():
  with pytest.raises(ValueError, match="bands"):
    mtf_filter(np.zeros((8, 8, 4)), "WV3")
  with pytest.raises(ValueError, match="NaN"):
    mtf_filter(np.full((8, 8, 4), np.nan), "QB")
  with pytest.raises(ValueError, match="unknown sensor"):
    mtf_filter(np.zeros((8, 8, 4)), "NOPE")


# ---------------------------------------------------------------- interp23tap


def _interp23tap_reference(x: np.ndarray, ratio: int) -> np.ndarray:
  """Slow transcription of interp23tap.m's steps: zero insertion + circular 23-tap filter."""
  c = 2 * np.array([0.5, 0.305334091185, 0, -0.072698593239, 0, 0.021809577942, 0,
                    -0.005192756653, 0, 0.000807762146, 0, -0.000060081482])
  taps = np.concatenate([c[:0:-1], c])
  for step in range(int(math.log2(ratio))):
    r, w, b = x.shape
    u = np.zeros((2 * r, 2 * w, b))
    if step == 0:
      u[1::2, 1::2] = x  # MATLAB 2:2:end
    else:
      u[0::2, 0::2] = x  # MATLAB 1:2:end
    for axis in (1, 0):
      n = u.shape[axis]
      out = np.zeros_like(u)
      for m in range(n):
        acc = 0.0
        for t, coef in enumerate(taps):
          acc = acc + coef * np.take(u, (m + t - 11) % n, axis=axis)
        if axis == 0:
          out[m] = acc
        else:
          out[:, m] = acc
      u = out
    x = u
  return x


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_interp23tap_matches_reference_and_reproduces_input(ratio):
  rng = np.random.default_rng(ratio)
  x = rng.random((5, 7, 2)) * 2047
  y = interp23tap(x, ratio)
  assert y.shape == (5 * ratio, 7 * ratio, 2)
  np.testing.assert_allclose(y, _interp23tap_reference(x, ratio), rtol=0, atol=1e-9)
  # Input pixel i sits at output pixel ratio*i + ratio//2 (0-based): exact reproduction.
  np.testing.assert_allclose(y[ratio // 2::ratio, ratio // 2::ratio], x, rtol=0, atol=1e-10)


def test_interp23tap_constant_and_2d_input():
  # The odd taps sum to 0.4999999998 per side (4.04e-10 short of 1 per 1-D pass), so after
  # four 1-D passes a constant c is kept within c (1 - (1 - 4.04e-10)^4) = 1.6e-9 c.
  y = interp23tap(np.full((6, 6), 1000.0), 4)
  assert y.shape == (24, 24, 1)
  np.testing.assert_allclose(y, 1000.0, rtol=1.7e-9)
  assert y.max() == 1000.0  # the input samples themselves are untouched


def test_interp23tap_bad_ratio():
  for bad in (3, 6, 1, 0):
    with pytest.raises(ValueError, match="power of two"):
      interp23tap(np.zeros((4, 4, 1)), bad)


# ---------------------------------------------------------------- imresize


def _imresize_1d_slow(v: np.ndarray, scale: float) -> np.ndarray:
  """MATLAB imresize (bicubic, antialiasing) of a 1-D signal, written as scalar loops."""
  n = len(v)
  out_n = math.ceil(scale * n)
  kw = 4.0 / scale if scale < 1 else 4.0
  res = np.zeros(out_n)
  for x in range(1, out_n + 1):
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = math.floor(u - kw / 2)
    num, den = 0.0, 0.0
    for j in range(left, left + math.ceil(kw) + 2):
      t = u - j
      if scale < 1:
        t = t * scale
      a = abs(t)
      if a <= 1:
        wgt = 1.5 * a ** 3 - 2.5 * a ** 2 + 1
      elif a <= 2:
        wgt = -0.5 * a ** 3 + 2.5 * a ** 2 - 4 * a + 2
      else:
        wgt = 0.0
      jj = j
      while jj < 1 or jj > n:  # symmetric mirror with the edge sample repeated
        jj = 1 - jj if jj < 1 else 2 * n + 1 - jj
      num += wgt * v[jj - 1]
      den += wgt
    res[x - 1] = num / den
  return res


def test_imresize_hand_values():
  """[1 2 3 4] halved: weights of the 8-wide stretched kernel worked out by hand."""
  img = np.tile(np.array([1.0, 2.0, 3.0, 4.0]), (4, 1))
  out = imresize(img, 0.5)
  np.testing.assert_allclose(out[..., 0], [[1.4609375, 3.5390625]] * 2, atol=1e-14)


@pytest.mark.parametrize("scale", [0.25, 0.5, 2.0, 4.0])
def test_imresize_matches_slow_matlab_loop(scale):
  rng = np.random.default_rng(1)
  img = rng.random((8, 12))
  out = imresize(img, scale)[..., 0]
  rows = np.stack([_imresize_1d_slow(r, scale) for r in img])  # along W
  ref = np.stack([_imresize_1d_slow(c, scale) for c in rows.T], axis=1)  # along H
  np.testing.assert_allclose(out, ref, atol=1e-13)


@pytest.mark.parametrize("scale", [0.25, 0.5, 2.0])
def test_imresize_agrees_with_jax_in_interior(scale):
  """jax.image.resize uses the same kernel and pixel-centre alignment but renormalises at the
  border instead of mirroring, so the two agree (to float32) away from the border."""
  rng = np.random.default_rng(2)
  img = rng.random((64, 48, 2))
  out = imresize(img, scale)
  ref = np.asarray(jax.image.resize(jnp.asarray(img, jnp.float32), out.shape, "bicubic",
                                    antialias=True))
  m = 2 if scale < 1 else int(math.ceil(2 * scale)) + 1
  np.testing.assert_allclose(out[m:-m, m:-m], ref[m:-m, m:-m], atol=2e-6)
  np.testing.assert_allclose(imresize(np.full((16, 16), 7.0), scale), 7.0, rtol=1e-13)


# ---------------------------------------------------------------- Wald protocol


@pytest.mark.parametrize("pan_method", ["imresize", "mtf"])
def test_wald_constant(pan_method):
  sensor = get_sensor("QB")
  ms = np.full((32, 32, 4), 500.0)
  pan = np.full((128, 128), 800.0)
  ms_lr, pan_lr = wald_degrade(ms, pan, sensor, pan_method=pan_method)
  assert ms_lr.shape == (8, 8, 4) and pan_lr.shape == (32, 32, 1)
  np.testing.assert_allclose(ms_lr, np.broadcast_to(500 * mtf_kernel("QB").sum((0, 1)),
                                                    ms_lr.shape), rtol=1e-12)
  pan_sum = 1.0 if pan_method == "imresize" else mtf_pan_kernel("QB").sum()
  np.testing.assert_allclose(pan_lr, 800 * pan_sum, rtol=1e-12)


def test_wald_decimation_phase():
  """MS keeps the filtered pixels [2::4, 2::4] (MATLAB imresize 1/4 'nearest')."""
  rng = np.random.default_rng(3)
  ms = rng.random((16, 20, 4))
  ms_lr, _ = wald_degrade(ms, np.zeros((64, 80)), "GF2")
  np.testing.assert_array_equal(ms_lr, mtf_filter(ms, "GF2")[2::4, 2::4])


def test_wald_bad_inputs():
  ms, pan = np.zeros((16, 16, 4)), np.zeros((64, 64, 1))
  with pytest.raises(ValueError, match="ratio"):
    wald_degrade(ms, np.zeros((60, 64, 1)), "QB")
  with pytest.raises(ValueError, match="bands"):
    wald_degrade(ms, pan, "WV3")
  with pytest.raises(ValueError, match="pan: has 2 bands"):
    wald_degrade(ms, np.zeros((64, 64, 2)), "QB")
  bad = pan.copy()
  bad[3, 3] = np.inf
  with pytest.raises(ValueError, match="pan: contains NaN or Inf"):
    wald_degrade(ms, bad, "QB")
  with pytest.raises(ValueError, match="pan_method"):
    wald_degrade(ms, pan, "QB", pan_method="bilinear")
  with pytest.raises(ValueError, match="divisible"):
    wald_degrade(np.zeros((18, 18, 4)), np.zeros((72, 72)), "QB")


def test_real_wv2_scene(real_wv2_path):
  """Evaluation-only use of the real scene: shapes, and interp23tap beats nearest upsampling."""
  data = scipy.io.loadmat(real_wv2_path)
  ms, pan = data["I_MS"], data["I_PAN"]
  assert ms.shape == (320, 320, 8) and pan.shape == (1280, 1280)
  ms_lr, pan_lr = wald_degrade(ms, pan, "WV2")
  assert ms_lr.shape == (80, 80, 8) and pan_lr.shape == (320, 320, 1)
  assert np.all(np.isfinite(ms_lr)) and np.all(np.isfinite(pan_lr))
  lms = interp23tap(ms_lr, 4)
  assert lms.shape == (320, 320, 8)
  np.testing.assert_allclose(lms[2::4, 2::4], ms_lr, atol=1e-10)
  nearest = np.repeat(np.repeat(ms_lr, 4, axis=0), 4, axis=1)
  gt = ms.astype(np.float64)
  rmse_interp = np.sqrt(np.mean((lms - gt) ** 2))
  rmse_nearest = np.sqrt(np.mean((nearest - gt) ** 2))
  assert rmse_interp < rmse_nearest  # measured 125.5 vs 134.8 digital numbers
  # The PAN reduction keeps the radiometry: same mean within 0.5 %.
  assert abs(pan_lr.mean() / pan.mean() - 1) < 5e-3
