"""Sensor MTF filters of the pan-sharpening toolbox (genMTF.m, MTF.m, MTF_PAN.m).

Each band's filter is a 41 x 41 Gaussian-shaped FIR filter whose frequency response at the
MS Nyquist frequency 1/(2 r) is (close to) the band's MTF gain. The toolbox builds it with
MATLAB's `fspecial('gaussian')`, `fwind1` (frequency sampling with a 2-D window made from a
1-D Kaiser window by Huang's rotation method) and `kaiser(41)` (beta 0.5); the private
helpers below follow those documented definitions. The kernel is not renormalised: its
sum is about 0.999, exactly as in the toolbox.

Filtering is 2-D correlation with replicate borders (`imfilter(..., 'replicate')`), done by
FFT convolution on the padded image. All outputs are float64, whatever the input dtype.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
import scipy.special

from srino_jax.toolbox.arrays import as_image
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["mtf_kernel", "mtf_pan_kernel", "mtf_filter", "mtf_pan_filter", "filter_replicate",
           "gaussian_mtf_kernel"]

_KAISER_BETA = 0.5  # MATLAB kaiser(N) default.


def _kaiser(n: int, beta: float = _KAISER_BETA) -> np.ndarray:
  """MATLAB `kaiser(n, beta)`: I0(beta sqrt(1 - (2k/(n-1) - 1)^2)) / I0(beta), k = 0..n-1."""
  k = np.arange(n, dtype=np.float64)
  x = 2.0 * k / (n - 1) - 1.0
  return scipy.special.i0(beta * np.sqrt(np.clip(1.0 - x * x, 0.0, None))) / scipy.special.i0(beta)


def _fspecial_gaussian(n: int, sigma: float) -> np.ndarray:
  """MATLAB `fspecial('gaussian', n, sigma)`: sampled Gaussian, tails below eps*max zeroed, sum 1."""
  half = (n - 1) / 2.0
  x = np.arange(-half, half + 1.0)
  h = np.exp(-(x[None, :] ** 2 + x[:, None] ** 2) / (2.0 * sigma * sigma))
  h[h < np.finfo(np.float64).eps * h.max()] = 0.0
  return h / h.sum()


def _huang_window(w1: np.ndarray) -> np.ndarray:
  """`fwind1`'s circular 2-D window: the 1-D window rotated (linear interp), zero beyond its end."""
  n = w1.shape[0]
  t = (np.arange(n) - (n - 1) / 2.0) * (2.0 / (n - 1))
  radius = np.hypot(t[None, :], t[:, None])
  w = np.interp(radius, t, w1)
  w[radius > t[-1]] = 0.0
  return w


def _fsamp2(hd: np.ndarray) -> np.ndarray:
  """MATLAB `fsamp2(Hd)`: FIR filter whose DFT passes through the centred response `hd`."""
  hd = np.rot90(np.fft.fftshift(np.rot90(hd, 2)), 2)  # inverse fftshift, as fsamp2 writes it
  h = np.fft.fftshift(np.fft.ifft2(hd))
  return np.rot90(h, 2)  # "rotate for use with filter2"


def _fwind1(hd: np.ndarray, w1: np.ndarray) -> np.ndarray:
  """MATLAB `fwind1(Hd, win)` (Huang's method), real part as the toolbox's `real(h)`."""
  return np.real(_fsamp2(hd)) * _huang_window(w1)


def gaussian_mtf_kernel(gain: float, ratio: int, size: int = 41,
                        span: int | None = None) -> np.ndarray:
  """One genMTF-style kernel: (size, size) float64, response ~`gain` at 1/(2 ratio).

  Args:
    gain: MTF value at the Nyquist frequency of the coarse grid, in (0, 1).
    ratio: resolution ratio r.
    size: odd kernel size N.
    span: the N of genMTF's alpha = sqrt((span fcut / 2)^2 / (-2 log gain)); genMTF and
      MTF_PAN use N - 1 (the default), the toolbox's LPfilterGauss uses N.
  """
  span = size - 1 if span is None else span
  fcut = 1.0 / ratio
  alpha = np.sqrt((span * fcut / 2.0) ** 2 / (-2.0 * np.log(gain)))  # genMTF's alpha
  h = _fspecial_gaussian(size, alpha)
  hd = h / h.max()  # desired frequency response, 1 at DC
  return _fwind1(hd, _kaiser(size))


def mtf_kernel(sensor: str | Sensor, ratio: int = 4, size: int = 41) -> np.ndarray:
  """MS MTF kernels of the toolbox's genMTF.

  Args:
    sensor: sensor name or `Sensor`; its `ms_gains` set the Nyquist gains.
    ratio: PAN / MS resolution ratio r (the Nyquist frequency is 1/(2 r) cycles/pixel).
    size: odd kernel size (the toolbox uses 41).

  Returns:
    (size, size, C) float64 kernels, one per band, each summing to about 0.999.
  """
  sensor = get_sensor(sensor)
  return np.stack([gaussian_mtf_kernel(g, ratio, size) for g in sensor.ms_gains], axis=-1)


def mtf_pan_kernel(sensor: str | Sensor, ratio: int = 4, size: int = 41) -> np.ndarray:
  """PAN MTF kernel of the toolbox's MTF_PAN: (size, size, 1) float64, gain `sensor.pan_gain`."""
  sensor = get_sensor(sensor)
  return gaussian_mtf_kernel(sensor.pan_gain, ratio, size)[..., None]


def filter_replicate(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
  """Band-wise 2-D correlation with replicate borders, MATLAB `imfilter(x, h, 'replicate')`.

  Args:
    img: (H, W, C) float64.
    kernel: (k, k, C) or (k, k, 1) float64 with odd k (the centre pixel is the origin).

  Returns:
    (H, W, C) float64.
  """
  kh, kw = kernel.shape[:2]
  ph, pw = kh // 2, kw // 2
  padded = np.pad(img, ((ph, ph), (pw, pw), (0, 0)), mode="edge")
  # Correlation = convolution with the kernel flipped in both spatial axes.
  flipped = kernel[::-1, ::-1, :]
  return scipy.signal.fftconvolve(padded, flipped, mode="valid", axes=(0, 1))


def mtf_filter(img, sensor: str | Sensor, ratio: int = 4) -> np.ndarray:
  """Filters each band with its MS MTF kernel (toolbox MTF.m), replicate borders.

  Args:
    img: (H, W, C) image, any real dtype and scale (the filter is linear); C = sensor bands.
    sensor: sensor name or `Sensor`.
    ratio: PAN / MS resolution ratio.

  Returns:
    (H, W, C) float64.
  """
  sensor = get_sensor(sensor)
  img = as_image(img, "img", bands=sensor.bands)
  return filter_replicate(img, mtf_kernel(sensor, ratio))


def mtf_pan_filter(pan, sensor: str | Sensor, ratio: int = 4) -> np.ndarray:
  """Filters a PAN image with the sensor's PAN MTF kernel (toolbox MTF_PAN.m).

  Args:
    pan: (H, W, 1) or (H, W) image, any real dtype and scale.
    sensor: sensor name or `Sensor`.
    ratio: PAN / MS resolution ratio.

  Returns:
    (H, W, 1) float64 (also for an (H, W) input).
  """
  pan = as_image(pan, "pan", bands=1)
  return filter_replicate(pan, mtf_pan_kernel(sensor, ratio))
