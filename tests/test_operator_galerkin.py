"""Tests for srino_jax.operator: attention formulas, discretisation invariance, backbone API."""

from __future__ import annotations

import functools
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srino_jax import operator as op

KEY = jax.random.key(0)


# ---------------------------------------------------------------- attention functions

def _qkv(shape, dtype, seed=0):
  ks = jax.random.split(jax.random.key(seed), 3)
  return [jax.random.normal(k, shape).astype(dtype) for k in ks]


def _explicit_galerkin(q, k, v):
  """(Q K^T) V / N in float64, forming the N x N matrix per head."""
  q, k, v = (np.asarray(a, np.float64) for a in (q, k, v))
  scores = np.einsum("bnhd,bmhd->bhnm", q, k)
  return np.einsum("bhnm,bmhe->bnhe", scores, v) / q.shape[1]


def test_galerkin_attention_equals_explicit_float32():
  q, k, v = _qkv((2, 300, 4, 16), jnp.float32)
  out = op.galerkin_attention(q, k, v)
  assert out.dtype == jnp.float32
  np.testing.assert_allclose(out, _explicit_galerkin(q, k, v), rtol=1e-4, atol=1e-5)


def _bf16_accumulated_galerkin(q, k, v):
  """What the test must reject: both products accumulated in bfloat16."""
  kv = jnp.einsum("...nhd,...nhe->...hde", k, v) / q.shape[-3]
  return jnp.einsum("...nhd,...hde->...nhe", q, kv.astype(jnp.bfloat16))


def test_galerkin_attention_bfloat16_accumulates_in_float32():
  """bf16 in, bf16 out, but only the final rounding to bf16 may be lost.

  Bound: half a bf16 ulp (<= 2^-8 relative) plus float32-level cancellation error where the
  output is near 0. With N = 4096 tokens, accumulating K^T V in bfloat16 (8-bit mantissa)
  loses far more, which the second assertion demonstrates.
  """
  q, k, v = _qkv((1, 4096, 2, 8), jnp.bfloat16, seed=1)
  out = op.galerkin_attention(q, k, v)
  assert out.dtype == jnp.bfloat16
  # float64 reference for the bf16-rounded inputs (associated as Q (K^T V): the N x N form is
  # checked above, and float64 makes the association irrelevant at this tolerance).
  qn, kn, vn = (np.asarray(a, np.float64) for a in (q, k, v))
  ref = np.einsum("bnhd,bhde->bnhe", qn, np.einsum("bnhd,bnhe->bhde", kn, vn)) / qn.shape[1]
  bound = 2.0**-8 * np.abs(ref) + 1e-5 * np.abs(ref).max()
  assert np.all(np.abs(np.asarray(out, np.float64) - ref) <= bound)
  bad = np.asarray(_bf16_accumulated_galerkin(q, k, v), np.float64)
  assert np.any(np.abs(bad - ref) > bound)


def _largest_intermediate(fn, *args):
  jaxpr = jax.make_jaxpr(fn)(*args)
  return max(math.prod(v.aval.shape) for e in jaxpr.jaxpr.eqns for v in e.outvars)


def test_galerkin_attention_never_forms_n_by_n():
  q, k, v = _qkv((1, 1024, 4, 16), jnp.float32)
  n = 1024
  assert _largest_intermediate(op.galerkin_attention, q, k, v) <= n * 4 * 16
  # The softmax baseline does (so this check can fail).
  assert _largest_intermediate(op.softmax_attention, q, k, v) >= n * n


def test_attention_rejects_mismatched_shapes():
  q, k, v = _qkv((1, 10, 2, 4), jnp.float32)
  for fn in (op.galerkin_attention, op.softmax_attention):
    with pytest.raises(ValueError, match="q, k of equal shape"):
      fn(q, k[:, :9], v)


def test_softmax_attention_equals_explicit():
  q, k, v = _qkv((2, 50, 4, 8), jnp.float32, seed=2)
  qn, kn, vn = (np.asarray(a, np.float64) for a in (q, k, v))
  logits = np.einsum("bnhd,bmhd->bhnm", qn, kn) / math.sqrt(8)
  w = np.exp(logits - logits.max(-1, keepdims=True))
  w /= w.sum(-1, keepdims=True)
  ref = np.einsum("bhnm,bmhe->bnhe", w, vn)
  np.testing.assert_allclose(op.softmax_attention(q, k, v), ref, rtol=1e-4, atol=1e-5)


def _layer_norm(x, scale, bias, eps=1e-6):
  mu = x.mean(-1, keepdims=True)
  return (x - mu) / np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + eps) * scale + bias


@pytest.mark.parametrize("heads", [1, 4])
def test_galerkin_attention_layer_matches_formula(heads):
  """The layer against a float64 NumPy re-derivation from its own parameters: 1x1 Q, K, V
  per head; LayerNorm per head over the head channels (own affine per head) on K and V
  only, none on Q; Q (K^T V) / N over all pixels; 1x1 output map. Non-trivial LayerNorm
  affines make a norm over all heads, a norm on Q or a missing 1/N fail."""
  width, hh, ww = 16, 6, 5
  layer = op.GalerkinAttention(width, heads)
  h = jax.random.normal(jax.random.key(7), (2, hh, ww, width))
  params = layer.init(KEY, h)
  rng = np.random.default_rng(0)
  params = jax.tree.map(lambda p: p + jnp.asarray(0.3 * rng.standard_normal(p.shape), p.dtype),
                        params)
  got = np.asarray(jax.jit(layer.apply)(params, h), np.float64)
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["params"])
  x = np.asarray(h, np.float64).reshape(2, hh * ww, width)
  proj = lambda name: np.einsum("bnw,whd->bnhd", x, p[name]["kernel"]) + p[name]["bias"]
  q = proj("query")
  k = _layer_norm(proj("key"), p["key_norm"]["scale"], p["key_norm"]["bias"])
  v = _layer_norm(proj("value"), p["value_norm"]["scale"], p["value_norm"]["bias"])
  att = np.einsum("bnhd,bhde->bnhe", q, np.einsum("bnhd,bnhe->bhde", k, v)) / (hh * ww)
  ref = np.einsum("bnhe,hew->bnw", att, p["out"]["kernel"]) + p["out"]["bias"]
  np.testing.assert_allclose(got, ref.reshape(2, hh, ww, width), rtol=1e-4, atol=1e-4)


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
