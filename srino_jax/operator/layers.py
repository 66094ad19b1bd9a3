"""Pointwise building blocks shared by every backbone: grid, time embedding, lift, FFN, projection.

All of these act on each pixel independently (1x1), so they are discretisation invariant:
sampling the input on a finer grid samples the output on the same finer grid. The one
exception is the feed-forward's optional depthwise 3x3 convolution (`local.py`), a local
operator that the `local_operators` switch of the backbone turns on.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax.numpy as jnp

from srino_jax.operator.local import DepthwiseConv3x3


def grid_coordinates(height: int, width: int, dtype=jnp.float32) -> jnp.ndarray:
  """Pixel-centre coordinates of an H x W grid on the unit square.

  Returns:
    (H, W, 2) with [..., 0] = (i + 0.5) / H (row) and [..., 1] = (j + 0.5) / W (column),
    both in (0, 1): the same physical point gets the same coordinate at every resolution.
  """
  rows = (jnp.arange(height, dtype=jnp.float32) + 0.5) / height
  cols = (jnp.arange(width, dtype=jnp.float32) + 0.5) / width
  grid = jnp.stack(jnp.meshgrid(rows, cols, indexing="ij"), axis=-1)
  return grid.astype(dtype)


def sinusoidal_embedding(t: jnp.ndarray, dim: int, max_period: float = 10000.0) -> jnp.ndarray:
  """Transformer/DDPM sinusoidal embedding of diffusion steps.

  Args:
    t: (B,) training timesteps (int or float, in steps, e.g. 0..499).
    dim: even embedding size.
    max_period: longest wavelength, in steps.

  Returns:
    (B, dim) float32: [sin(t w_k), cos(t w_k)], w_k = max_period^(-k / (dim / 2)).
  """
  if dim % 2:
    raise ValueError(f"sinusoidal_embedding: dim must be even, got {dim}")
  half = dim // 2
  freqs = jnp.exp(-math.log(max_period) * jnp.arange(half, dtype=jnp.float32) / half)
  args = jnp.asarray(t, jnp.float32)[:, None] * freqs[None, :]
  return jnp.concatenate([jnp.sin(args), jnp.cos(args)], axis=-1)


class TimeEmbedding(nn.Module):
  """Diffusion step t -> sinusoidal features -> Dense -> GELU (DDPM's time embedding).

  DDPM's MLP has a second Dense after the GELU; here every consumer of the embedding (one
  `TimeModulation` per layer) starts with its own Dense, and a linear map followed by
  another is one linear map, so that second Dense was a mere re-parametrisation and is
  left out (tests/test_operator_local.py folds it into the modulations and gets the old
  outputs back).

  Attributes:
    features: output size d_t.
  """
  features: int

  @nn.compact
  def __call__(self, t: jnp.ndarray) -> jnp.ndarray:
    """(B,) int32 steps -> (B, features) float32."""
    emb = sinusoidal_embedding(t, self.features)
    return nn.gelu(nn.Dense(self.features, name="dense_0")(emb))


class TimeModulation(nn.Module):
  """FiLM by the diffusion time: h * (1 + scale) + shift, (scale, shift) = Dense(temb).

  Attributes:
    width: channels of h.
  """
  width: int

  @nn.compact
  def __call__(self, h: jnp.ndarray, temb: jnp.ndarray) -> jnp.ndarray:
    """h (B, H, W, width), temb (B, d_t) -> (B, H, W, width)."""
    scale, shift = jnp.split(nn.Dense(2 * self.width)(temb), 2, axis=-1)
    return h * (1.0 + scale[:, None, None, :]) + shift[:, None, None, :]


class FeedForward(nn.Module):
  """Feed-forward block Dense(ratio * width) [-> depthwise 3x3] -> GELU -> Dense(width).

  No residual. With `depthwise` a depthwise 3x3 convolution (reflect borders) sits between
  the two pointwise maps (Mix-FFN), local mixing at O(N d) cost; without it the block is
  pointwise and takes any (..., width) input.

  Attributes:
    width: channels d.
    ratio: hidden size in multiples of d.
    depthwise: add the depthwise 3x3 convolution (input then (B, H, W, width)).
  """
  width: int
  ratio: int = 2
  depthwise: bool = False

  @nn.compact
  def __call__(self, h: jnp.ndarray) -> jnp.ndarray:
    """(..., width) -> (..., width); (B, H, W, width) when `depthwise`."""
    h = nn.Dense(self.ratio * self.width, name="dense_0")(h)
    if self.depthwise:
      h = DepthwiseConv3x3(name="dwconv")(h)
    return nn.Dense(self.width, name="dense_1")(nn.gelu(h))


class Lift(nn.Module):
  """P_in: pointwise lift of [x_t, condition, grid coordinates] to `width` channels."""
  width: int

  @nn.compact
  def __call__(self, x_t: jnp.ndarray, cond: jnp.ndarray) -> jnp.ndarray:
    """x_t (B, H, W, C), cond (B, H, W, Cc) -> (B, H, W, width)."""
    if x_t.ndim != 4 or cond.ndim != 4 or x_t.shape[:3] != cond.shape[:3]:
      raise ValueError(
          f"Lift: x_t {x_t.shape} and cond {cond.shape} must be NHWC on the same grid")
    b, h, w, _ = x_t.shape
    grid = jnp.broadcast_to(grid_coordinates(h, w, x_t.dtype), (b, h, w, 2))
    return nn.Dense(self.width)(jnp.concatenate([x_t, cond.astype(x_t.dtype), grid], axis=-1))


class Projection(nn.Module):
  """P_out: pointwise 2-layer MLP width -> width -> out_channels."""
  width: int
  out_channels: int

  @nn.compact
  def __call__(self, h: jnp.ndarray) -> jnp.ndarray:
    """(B, H, W, width) -> (B, H, W, out_channels)."""
    h = nn.gelu(nn.Dense(self.width, name="dense_0")(h))
    return nn.Dense(self.out_channels, name="dense_1")(h)
