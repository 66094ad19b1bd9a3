"""toolbox.resize: MATLAB imresize (bicubic, antialiasing) against slow loops and JAX."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srino_jax.toolbox.resize import imresize


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
