"""srino_jax.operator.spectral: the spectral convolution on band-limited inputs, clipped grids."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from srino_jax import operator as op

KEY = jax.random.key(0)


def _trig_field(n: int, ky: int) -> jnp.ndarray:
  """(1, n, n, 3) trigonometric polynomial at pixel centres; highest y frequency max(3, ky)."""
  g = op.grid_coordinates(n, n)
  y, x = 2 * np.pi * g[..., 0], 2 * np.pi * g[..., 1]
  f = jnp.stack([jnp.sin(2 * x + 3 * y), jnp.cos(x) * jnp.sin(ky * y), jnp.cos(3 * x - y)], -1)
  return f[None]


def test_spectral_conv_is_invariant_on_band_limited_inputs():
  """rfft2/irfft2 with norm="forward": a trigonometric polynomial sampled at pixel centres of
  two grids has the same Fourier series, so the outputs agree at shared points (exactly, up
  to float32 rounding), and a circular shift of the input shifts the output."""
  conv = op.SpectralConv2d(features=6, modes=5)
  field = lambda n: _trig_field(n, ky=4)  # noqa: E731
  params = conv.init(KEY, field(16))
  apply = jax.jit(conv.apply)
  small, big = apply(params, field(16)), apply(params, field(48))
  np.testing.assert_allclose(big[:, 1::3, 1::3], small, atol=1e-5 * float(jnp.abs(small).max()))
  shifted = apply(params, jnp.roll(field(16), (3, -5), axis=(1, 2)))
  np.testing.assert_allclose(shifted, jnp.roll(small, (3, -5), axis=(1, 2)), atol=1e-5)


def test_spectral_conv_clipped_grid_keeps_weights_on_their_frequencies():
  """On a grid too small for `modes` (8 < 2 * 6 rows) the kept weights must be those of the
  frequencies present: w_neg's last rows are frequencies -m1..-1. A field with frequencies
  |k| <= 3 is then mapped identically on the clipped 8-grid and the unclipped 24-grid (the
  extra modes of the fine grid carry no input). Taking w_neg's *first* rows instead puts
  the -6..-3 weights on frequencies -4..-1 and fails this."""
  conv = op.SpectralConv2d(features=4, modes=6)
  field = lambda n: _trig_field(n, ky=2)  # noqa: E731
  params = conv.init(KEY, field(24))
  small, big = conv.apply(params, field(8)), conv.apply(params, field(24))
  np.testing.assert_allclose(big[:, 1::3, 1::3], small, atol=1e-5 * float(jnp.abs(small).max()))
