"""Fourier neural operator layer (Li et al. 2021): the `fno` ablation's global mixer.

Spectral convolution: h -> irfft2(R . rfft2(h)) with learned complex weights R on the lowest
`modes` frequencies per axis (positive and negative rows, the first `modes` columns of the
real FFT), higher frequencies dropped. FFTs use norm="forward", so the kept coefficients
are Fourier-series coefficients whose size does not depend on the grid resolution.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def _complex_normal(stddev: float):
  def init(key, shape, dtype=jnp.float32):
    # shape (2, ...): real and imaginary parts stored as two float32 arrays.
    return stddev * jax.random.normal(key, shape, dtype)
  return init


class SpectralConv2d(nn.Module):
  """Fourier-domain linear map on the lowest `modes` x `modes` frequencies of an NHWC map.

  Attributes:
    features: output channels.
    modes: Fourier modes kept per axis; clipped to H // 2 rows and W // 2 + 1 columns on
      small grids (the weights of the dropped frequencies are then unused, so one set of
      parameters serves every resolution, each weight always on the same frequency).
  """
  features: int
  modes: int = 12

  @nn.compact
  def __call__(self, h: jnp.ndarray) -> jnp.ndarray:
    """(B, H, W, Cin) float -> (B, H, W, features), same dtype as h."""
    b, hh, ww, cin = h.shape
    init = _complex_normal(1.0 / cin)
    shape = (2, self.modes, self.modes, cin, self.features)  # (re/im, kx, ky, in, out)
    w_pos = self.param("weights_pos_rows", init, shape)  # rows 0..m-1 (positive frequencies)
    w_neg = self.param("weights_neg_rows", init, shape)  # rows H-m..H-1 (negative frequencies)
    m1, m2 = min(self.modes, hh // 2), min(self.modes, ww // 2 + 1)

    x_ft = jnp.fft.rfft2(h.astype(jnp.float32), axes=(1, 2), norm="forward")  # (B, H, W//2+1, Cin)
    mix = lambda x, w: jnp.einsum("bxyi,xyio->bxyo", x, w[0] + 1j * w[1])
    out_ft = jnp.zeros((b, hh, ww // 2 + 1, self.features), jnp.complex64)
    # w_pos row r is frequency +r; w_neg row r is frequency r - modes (-modes .. -1). On a
    # clipped grid keep the rows of the frequencies present: the first m1 positive ones and
    # the *last* m1 negative ones, so each weight multiplies the same frequency at every
    # resolution.
    out_ft = out_ft.at[:, :m1, :m2].set(mix(x_ft[:, :m1, :m2], w_pos[:, :m1, :m2]))
    out_ft = out_ft.at[:, hh - m1:, :m2].set(
        mix(x_ft[:, hh - m1:, :m2], w_neg[:, self.modes - m1:, :m2]))
    out = jnp.fft.irfft2(out_ft, s=(hh, ww), axes=(1, 2), norm="forward")
    return out.astype(h.dtype)


class SpectralMixer(nn.Module):
  """FNO's K v + W v: spectral convolution plus a pointwise (1x1) linear path."""
  width: int
  modes: int = 12

  @nn.compact
  def __call__(self, h: jnp.ndarray) -> jnp.ndarray:
    """(B, H, W, width) -> (B, H, W, width)."""
    return SpectralConv2d(self.width, self.modes, name="spectral")(h) + nn.Dense(
        self.width, name="pointwise")(h)
