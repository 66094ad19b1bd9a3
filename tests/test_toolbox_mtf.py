"""toolbox.mtf: MTF kernels (Nyquist gains, design) and replicate-border filtering."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srino_jax.toolbox.mtf import (gaussian_mtf_kernel, mtf_filter, mtf_kernel, mtf_pan_filter,
                                mtf_pan_kernel)
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
