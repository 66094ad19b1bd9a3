"""srino_jax.operator backbones: discretisation invariance (Galerkin, not CNN), purity and time,
lift / layer / project, make_backbone's errors."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srino_jax import operator as op

KEY = jax.random.key(0)


# ---------------------------------------------------------------- backbones

def _smooth_inputs(size, bands, batch=1):
  """Smooth, non-periodic test functions of the pixel-centre coordinates."""
  g = op.grid_coordinates(size, size)
  y, x = g[..., :1], g[..., 1:]
  c = jnp.arange(bands + 1, dtype=jnp.float32)
  f = jnp.sin(2.0 * x + 0.7 * c) * jnp.cos(3.0 * y - 0.4 * c) + 0.5 * x * y
  f = jnp.broadcast_to(f, (batch,) + f.shape)
  return f[..., :bands], jnp.concatenate([f[..., ::-1], 0.3 * f[..., :1]], -1)


@functools.lru_cache(maxsize=None)
def _model(name, bands, width=32, depth=2):
  """Backbone, its params (initialised on a small grid: they do not depend on resolution)
  and a jitted apply; cached so the tests share compilations. (Eager init: its small
  per-op compilations are shared across variants, a jitted init compiles for seconds.)
  Local operators off: these tests are about the global part (the stem and the depthwise
  convs are local stencils, tested in test_operator_local.py)."""
  model = op.make_backbone(name, bands, width=width, depth=depth, local_operators=False)
  x_t, cond = _smooth_inputs(8, bands)
  params = model.init(KEY, x_t, cond, jnp.array([0]))
  return model, params, jax.jit(model.apply)


@functools.lru_cache(maxsize=None)
def _coarse_fine_error(name, bands, coarse, ratio=3):
  """Max relative difference of the outputs on a coarse and a ratio-x finer grid.

  With pixel-centre coordinates and an odd ratio r, coarse pixel i is fine pixel
  r*i + (r-1)/2: the two grids share those points exactly, no interpolation needed.
  """
  _, params, apply = _model(name, bands)
  t = jnp.array([250])
  small = apply(params, *_smooth_inputs(coarse, bands), t)
  big = apply(params, *_smooth_inputs(coarse * ratio, bands), t)
  shared = big[:, ratio // 2::ratio, ratio // 2::ratio]
  return float(jnp.abs(shared - small).max() / jnp.abs(small).max())


@pytest.mark.parametrize("bands", [4, 8])
def test_galerkin_backbone_is_discretisation_invariant(bands):
  """Every op is pointwise except the pixel means K^T V / N: midpoint-rule quadratures of
  integrals over [0, 1]^2, with error O(h^2) for smooth inputs. So the outputs at the shared
  points of a 32- and a 96-pixel grid differ by about c / 32^2 relative, with c of order
  the inputs' second derivatives (here ~0.3, measured 2-4e-4); a resolution-dependent
  operator differs at O(h) or O(1) (the CNN below, ~1)."""
  assert _coarse_fine_error("galerkin", bands, 32) < 2e-3


def test_galerkin_discretisation_error_is_second_order():
  """Doubling both grids (64 vs 192) divides the difference by ~4: it is the quadrature's
  O(h^2), dominated by the coarse grid ((1/64^2 - 1/192^2) / (1/32^2 - 1/96^2) = 1/4)."""
  e32, e64 = _coarse_fine_error("galerkin", 4, 32), _coarse_fine_error("galerkin", 4, 64)
  assert e64 < 5e-4
  assert 3.0 < e32 / e64 < 5.0


@pytest.mark.parametrize("bands", [4, 8])
def test_cnn_backbone_is_not_discretisation_invariant(bands):
  """A 3x3 stencil spans 3/32 of the domain on one grid and 3/96 on the other: its output
  differs at O(1) near the zero-padded border and O(h) inside, far above Galerkin's."""
  assert _coarse_fine_error("cnn", bands, 32) > 100 * _coarse_fine_error("galerkin", bands, 32)


@pytest.mark.parametrize("name", sorted(op.BACKBONES))
@pytest.mark.parametrize("bands", [4, 8])
def test_backbone_is_pure_and_uses_time(name, bands):
  model, params, apply = _model(name, bands)
  x_t, cond = _smooth_inputs(16, bands, batch=2)
  x_t = x_t * jnp.array([1.0, -0.5])[:, None, None, None]
  # init is pure: a fresh trace of init with the same key gives bit-identical parameters.
  again = model.init(KEY, *_smooth_inputs(8, bands), jnp.array([0]))
  chex.assert_trees_all_equal(params, again)
  t = jnp.array([0, 0])
  out = apply(params, x_t, cond, t)
  chex.assert_shape(out, (2, 16, 16, bands))
  chex.assert_tree_all_finite(out)
  np.testing.assert_array_equal(out, apply(params, x_t, cond, t))  # apply is pure
  # The diffusion time changes the output (t = 0 vs t = 400), only for that sample.
  later = apply(params, x_t, cond, jnp.array([0, 400]))
  np.testing.assert_array_equal(later[0], out[0])
  assert float(jnp.abs(later[1] - out[1]).max()) > 1e-2 * float(jnp.abs(out[1]).max())


@pytest.mark.parametrize("name", sorted(op.BACKBONES))
def test_lift_layer_project_compose_to_call(name):
  """The model assembly calls lift / layer(l) / project separately: same result as __call__."""
  model, params, apply = _model(name, 4)
  x_t, cond = _smooth_inputs(12, 4, batch=2)
  t = jnp.array([3, 200])

  def by_parts(m):
    h, temb = m.lift(x_t, cond, t)
    chex.assert_shape([h, temb], [(2, 12, 12, m.width), (2, m.time_features)])
    for l in range(m.depth):
      h = m.layer(l, h, temb)
    return m.project(h)

  np.testing.assert_allclose(jax.jit(lambda p: model.apply(p, method=by_parts))(params),
                             apply(params, x_t, cond, t), rtol=1e-6, atol=1e-6)


def test_make_backbone_errors():
  with pytest.raises(ValueError, match="cnn.*fno.*galerkin.*softmax"):
    op.make_backbone("unet", 4)
  model = op.make_backbone("galerkin", 4, width=30, heads=4)
  x, c = _smooth_inputs(8, 4)
  with pytest.raises(ValueError, match="divisible"):
    model.init(KEY, x, c, jnp.array([0]))
  with pytest.raises(ValueError, match="t must have shape"):
    op.make_backbone("galerkin", 4).init(KEY, x, c, jnp.array([0, 1]))
