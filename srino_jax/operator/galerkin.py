"""Galerkin attention (Cao 2021), the O(N d^2) global operator of SRINO's backbone.

Read as a kernel integral operator over the image domain Omega = [0, 1]^2 with N pixels:

    (K v)(x) = integral_Omega q(x) . k(y) v(y) dy  ~=  q(x) (1/N sum_y k(y)^T v(y))

so out = Q (K^T V) / N. K^T V is a small (d x d) matrix per head, computed first, so the
N x N attention matrix is never formed: cost O(N d^2), memory O(N d), and the 1/N mean is
a quadrature of the integral, which is what makes the operator discretisation invariant.
`softmax_attention` is the usual O(N^2) baseline of the same shapes.
"""

from __future__ import annotations

from typing import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

AttentionFn = Callable[[jnp.ndarray, jnp.ndarray, jnp.ndarray], jnp.ndarray]


def _check_qkv(q: jnp.ndarray, k: jnp.ndarray, v: jnp.ndarray) -> None:
  if q.ndim < 3 or q.shape != k.shape or k.shape[:-1] != v.shape[:-1]:
    raise ValueError(
        f"attention expects q, k of equal shape (..., N, heads, d) and v (..., N, heads, dv); "
        f"got q {q.shape}, k {k.shape}, v {v.shape}")


def galerkin_attention(q: jnp.ndarray, k: jnp.ndarray, v: jnp.ndarray) -> jnp.ndarray:
  """Galerkin attention Q (K^T V) / N, computed as Q @ (K^T V), never forming Q K^T.

  No normalisation, softmax or dropout happens here: the layer applies LayerNorm to K and V
  per head beforehand (Cao 2021). (Cao's reference code applies dropout to K^T V even at
  evaluation; we do not.)

  Args:
    q: (..., N, heads, d) queries, N = number of pixels.
    k: (..., N, heads, d) keys.
    v: (..., N, heads, dv) values.

  Returns:
    (..., N, heads, dv) in q's dtype; both products accumulate in float32 (bfloat16
    inputs are fine).
  """
  _check_qkv(q, k, v)
  n = q.shape[-3]
  # K^T V / N: one (d x dv) matrix per head, the quadrature of integral k(y)^T v(y) dy.
  kv = jnp.einsum("...nhd,...nhe->...hde", k, v, preferred_element_type=jnp.float32) / n
  out = jnp.einsum("...nhd,...hde->...nhe", q.astype(jnp.float32), kv,
                   preferred_element_type=jnp.float32)
  return out.astype(q.dtype)


def softmax_attention(q: jnp.ndarray, k: jnp.ndarray, v: jnp.ndarray) -> jnp.ndarray:
  """Standard scaled dot-product attention softmax(Q K^T / sqrt(d)) V: the O(N^2) baseline.

  Args:
    q, k: (..., N, heads, d); v: (..., N, heads, dv).

  Returns:
    (..., N, heads, dv) in q's dtype (logits and products in float32). Forms the
    (..., heads, N, N) attention matrix: memory grows with N^2.
  """
  _check_qkv(q, k, v)
  scale = 1.0 / jnp.sqrt(jnp.float32(q.shape[-1]))
  logits = jnp.einsum("...qhd,...khd->...hqk", q, k, preferred_element_type=jnp.float32)
  weights = jax.nn.softmax(logits * scale, axis=-1)
  out = jnp.einsum("...hqk,...khe->...qhe", weights, v.astype(jnp.float32),
                   preferred_element_type=jnp.float32)
  return out.astype(q.dtype)


class GalerkinAttention(nn.Module):
  """Multi-head attention mixer on an NHWC feature map (the global part of M_l).

  Q, K, V are pointwise (1x1) linear maps to heads x (width / heads); LayerNorm per head
  over the head channels on K and V only (Cao 2021: Q is not normalised, no softmax); then
  `attention_fn` over all H*W pixels and a pointwise output map back to `width`.
  With `attention_fn=softmax_attention` this is the softmax baseline of the same width.

  Attributes:
    width: channels d of the input and output.
    heads: number of heads; must divide `width`.
    attention_fn: `galerkin_attention` or `softmax_attention`.
  """
  width: int
  heads: int = 4
  attention_fn: AttentionFn = galerkin_attention

  @nn.compact
  def __call__(self, h: jnp.ndarray) -> jnp.ndarray:
    """(B, H, W, width) -> (B, H, W, width) attention output (no residual)."""
    if self.width % self.heads:
      raise ValueError(f"width={self.width} must be divisible by heads={self.heads}")
    b, hh, ww, _ = h.shape
    tokens = h.reshape(b, hh * ww, h.shape[-1])  # pixels as the token axis N
    head_dim = self.width // self.heads
    proj = lambda name, **kw: nn.DenseGeneral((self.heads, head_dim), name=name, **kw)(tokens)
    # Q is not normalised and Q (K^T V) / N sums head_dim terms, so Q's init is scaled by
    # 1/sqrt(head_dim) (the role of softmax attention's 1/sqrt(d); Cao 2021 uses a small init
    # gain for the same reason): the residual stream keeps its scale through the layers.
    q_init = nn.initializers.variance_scaling(1.0 / head_dim, "fan_in", "truncated_normal")
    q = proj("query", kernel_init=q_init)  # (B, N, heads, head_dim)
    k, v = proj("key"), proj("value")
    # "Galerkin" normalisation: LN on K and V per head over head channels, own affine per head.
    head_norm = lambda name: nn.LayerNorm(reduction_axes=-1, feature_axes=(-2, -1), name=name)
    k, v = head_norm("key_norm")(k), head_norm("value_norm")(v)
    out = self.attention_fn(q, k, v)  # (B, N, heads, head_dim)
    out = nn.DenseGeneral(self.width, axis=(-2, -1), name="out")(out)
    return out.reshape(b, hh, ww, self.width)
