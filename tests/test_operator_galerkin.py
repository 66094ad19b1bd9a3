"""srino_jax.operator.galerkin: attention formulas (Galerkin, softmax) and the attention layer."""

from __future__ import annotations

import math

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
