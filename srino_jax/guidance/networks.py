"""SRINO's auxiliary networks: f_M2P (MS -> pseudo-PAN) and f_KE (per-band blur kernels).

Both are trained before stage 2 (`aux` stage) and frozen afterwards; their outputs feed the
residuals of `residuals.py`:
- f_M2P maps an MS-like image (L, H or the current estimate Y_prev) to a pseudo-PAN, trained
  with L1 against P on (H, P) pairs. A pseudo-PAN is mostly a band-weighted sum, so the net
  is a learned 1x1 band mixing (the linear "intensity" of component substitution) plus a
  small 3x3 CNN correction.
- f_KE maps [P, L] to one 11 x 11 kernel per band and per image, softmax-normalised so
  each kernel is non-negative and sums to one, trained so that kernel * H approximates L.
  Its last layer starts at zero weights with a bias equal to the log of a sensor MTF prior
  (the toolbox genMTF kernel cropped to 11 x 11 and renormalised; a generic 0.3-gain
  Gaussian when no sensor is named), so an untrained f_KE already blurs like the sensor.

Full-resolution convolutions have reflect borders (input padded once by the depth of the
stack, zero-padded "SAME" 3x3 convolutions, cropped: `srino_jax.operator.local`), so that
borders are not darkened by zero padding.
"""

from __future__ import annotations


import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from srino_jax.operator.local import conv3x3, crop, reflect_pad

__all__ = ["M2PNet", "KENet", "kernel_prior", "softmax_kernels"]

GENERIC_GAIN = 0.3  # MTF Nyquist gain of the prior without a sensor (toolbox GF2 default).


def kernel_prior(bands: int, kernel_size: int = 11, sensor: str | None = None,
                 ratio: int = 4) -> np.ndarray:
  """The sensor's MS MTF kernels cropped to `kernel_size` and renormalised to sum one.

  Args:
    bands: number of MS bands C (must match the sensor's).
    kernel_size: odd crop size k (SRINO: 11).
    sensor: sensor name of `srino_jax.sensors`, or None for a generic Gaussian MTF with
      Nyquist gain 0.3 in every band.
    ratio: PAN / MS resolution ratio.

  Returns:
    (k, k, C) float64, non-negative, each band summing to one.
  """
  from srino_jax.toolbox.mtf import mtf_kernel  # numpy-only toolbox filters
  from srino_jax.sensors import Sensor, get_sensor

  if kernel_size % 2 == 0 or kernel_size < 1:
    raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
  if sensor is None:
    spec = Sensor("GENERIC", bands, 1.0, (GENERIC_GAIN,) * bands, 0.15,
                  rgb=(0, 0, 0))
  else:
    spec = get_sensor(sensor)
    if spec.bands != bands:
      raise ValueError(f"sensor {spec.name} has {spec.bands} bands, the model {bands}")
  full = mtf_kernel(spec, ratio=ratio, size=41)
  lo = (41 - kernel_size) // 2
  window = np.clip(full[lo:lo + kernel_size, lo:lo + kernel_size, :], 0.0, None)
  return window / window.sum(axis=(0, 1), keepdims=True)


def softmax_kernels(logits: jnp.ndarray) -> jnp.ndarray:
  """Softmax over the k x k positions of each band: (B, k, k, C) -> non-negative, sum 1."""
  b, kh, kw, c = logits.shape
  flat = jax.nn.softmax(logits.reshape(b, kh * kw, c), axis=1)
  return flat.reshape(b, kh, kw, c)


class M2PNet(nn.Module):
  """f_M2P: MS image -> pseudo-PAN.

  Attributes:
    width: hidden channels of the CNN correction.
  """

  width: int = 32

  @nn.compact
  def __call__(self, ms: jnp.ndarray) -> jnp.ndarray:
    """Args: ms (B, H, W, C) float32 in sensor-max units. Returns (B, H, W, 1) float32."""
    if ms.ndim != 4:
      raise ValueError(f"f_M2P input: expected (B, H, W, C), got shape {ms.shape}")
    # Band-weighted intensity (the CS pseudo-PAN), initialised to the band mean.
    c = ms.shape[-1]
    linear = nn.Conv(1, (1, 1), name="mix",
                     kernel_init=nn.initializers.constant(1.0 / c))(ms)
    h = nn.gelu(conv3x3(self.width, name="conv1")(reflect_pad(ms, 2)))
    h = crop(nn.gelu(conv3x3(self.width, name="conv2")(h)), 2)
    # Zero-initialised output: the untrained net is exactly the band mean.
    corr = nn.Conv(1, (1, 1), kernel_init=nn.initializers.zeros, name="out")(h)
    return linear + corr


class KENet(nn.Module):
  """f_KE: [P, L] -> per-image, per-band k x k blur kernels (softmax-normalised).

  A strided CNN, global average pooling (so any image size gives kernels), and a dense
  head whose bias is the log of `kernel_prior`.

  Attributes:
    bands: number of MS bands C.
    kernel_size: k (SRINO: 11).
    width: CNN channels.
    sensor: sensor name for the MTF prior, or None for the generic prior.
  """

  bands: int
  kernel_size: int = 11
  width: int = 32
  sensor: str | None = None

  @nn.compact
  def __call__(self, pan: jnp.ndarray, lms: jnp.ndarray) -> jnp.ndarray:
    """Args:
      pan: (B, H, W, 1) float32; lms: (B, H, W, C) float32 (sensor-max units).

    Returns:
      (B, k, k, C) float32 kernels, non-negative, each (image, band) summing to 1.
    """
    if pan.ndim != 4 or pan.shape[-1] != 1:
      raise ValueError(f"f_KE pan: expected (B, H, W, 1), got shape {pan.shape}")
    if lms.ndim != 4 or lms.shape[-1] != self.bands or lms.shape[:3] != pan.shape[:3]:
      raise ValueError(f"f_KE lms: expected {pan.shape[:3] + (self.bands,)}, got {lms.shape}")
    k, c = self.kernel_size, self.bands
    x = jnp.concatenate([pan, lms], axis=-1)
    h = crop(nn.gelu(conv3x3(self.width, name="conv1")(reflect_pad(x, 1))), 1)
    h = nn.gelu(nn.Conv(self.width, (3, 3), strides=2, padding="SAME", name="down1")(h))
    h = nn.gelu(nn.Conv(self.width, (3, 3), strides=2, padding="SAME", name="down2")(h))
    g = jnp.mean(h, axis=(1, 2))  # global average pool: (B, width)
    g = nn.gelu(nn.Dense(self.width, name="fc")(g))
    prior = kernel_prior(c, k, self.sensor)
    log_prior = np.log(np.maximum(prior, 1e-8)).reshape(-1).astype(np.float32)
    logits = nn.Dense(k * k * c, kernel_init=nn.initializers.zeros,
                      bias_init=lambda *_: jnp.asarray(log_prior), name="logits")(g)
    return softmax_kernels(logits.reshape(-1, k, k, c))
