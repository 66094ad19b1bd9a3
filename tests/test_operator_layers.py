"""srino_jax.operator.layers: grid coordinates at pixel centres, the sinusoidal embedding."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from srino_jax import operator as op


# ---------------------------------------------------------------- pointwise layers

def test_grid_coordinates_are_pixel_centres():
  g = np.asarray(op.grid_coordinates(4, 8))
  np.testing.assert_allclose(g[:, 0, 0], (np.arange(4) + 0.5) / 4)
  np.testing.assert_allclose(g[0, :, 1], (np.arange(8) + 0.5) / 8)
  # The same physical point at 3x the resolution: pixel (i, j) -> (3i + 1, 3j + 1).
  np.testing.assert_allclose(op.grid_coordinates(12, 24)[1::3, 1::3], g, rtol=1e-6)


def test_sinusoidal_embedding_formula():
  t = jnp.array([0, 7, 499])
  emb = np.asarray(op.sinusoidal_embedding(t, 16))
  w = 10000.0 ** (-np.arange(8) / 8)
  ref = np.concatenate([np.sin(np.outer([0, 7, 499], w)), np.cos(np.outer([0, 7, 499], w))], -1)
  np.testing.assert_allclose(emb, ref, rtol=1e-5, atol=1e-5)
