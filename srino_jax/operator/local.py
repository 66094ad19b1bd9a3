"""Local operators of the backbone (SPEC 2): the convolutional stem and the depthwise FFN conv.

The Galerkin mixer is global and the rest of the operator is pointwise, so without these the
backbone cannot form a local quantity such as L (a low-pass of H) from H. Both keep the cost
O(N): the stem is a few 3x3 residual blocks after the pointwise lift (as SRNO's EDSR encoder
before its Galerkin layers), the feed-forward gets a depthwise 3x3 convolution between its
two pointwise maps (Mix-FFN: Dense -> depthwise 3x3 -> GELU -> Dense).

Borders are reflected, as in the guidance convolutions: a stack of n 3x3 convolutions
reflect-pads its *input* once by n, runs zero-padded ("SAME") convolutions and crops n. The
zero padding only reaches the outer n pixels, which the crop removes, so this equals "VALID"
convolutions on the reflect-padded input, and XLA on CPU runs "SAME" 3x3 convolutions about
4x faster than "VALID" ones (measured: 13 vs 57 ms, 256 x 256 x 32 -> 32; flax's
padding="REFLECT" is pad + "VALID"). `reflect_pad`, `crop` and `conv3x3` are the shared
helpers: the guidance networks and adapters and the learned baselines import them from here.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

__all__ = ["reflect_pad", "crop", "conv3x3", "depthwise3x3", "ConvStem", "DepthwiseConv3x3"]


def reflect_pad(x: jnp.ndarray, n: int) -> jnp.ndarray:
  """Reflect-pads the two spatial axes of (B, H, W, C) by n pixels (no edge repeat)."""
  return jnp.pad(x, ((0, 0), (n, n), (n, n), (0, 0)), mode="reflect")


def crop(x: jnp.ndarray, n: int) -> jnp.ndarray:
  """Removes n pixels from each side of the spatial axes of (B, H, W, C)."""
  return x[:, n:x.shape[1] - n, n:x.shape[2] - n, :]


def conv3x3(features: int, **kw) -> nn.Conv:
  """3x3 convolution with zero ("SAME") padding; `reflect_pad` first, `crop` after."""
  return nn.Conv(features, (3, 3), padding="SAME", **kw)


def depthwise3x3(x: jnp.ndarray, kernel: jnp.ndarray, padding: str = "zero") -> jnp.ndarray:
  """Per-channel 3x3 cross-correlation as nine shifted multiply-adds.

  Args:
    x: (B, H, W, C).
    kernel: (3, 3, C), kernel[dy, dx, c] multiplies x[y + dy - 1, x + dx - 1, c].
    padding: "zero" (SAME with zeros), "reflect" (SAME with reflected borders, no edge
      repeat) or "valid" (no padding: (B, H - 2, W - 2, C)).

  Returns:
    (B, H, W, C) ((B, H - 2, W - 2, C) for "valid") in the promoted dtype.

  Nine fused multiply-adds over the feature map cost O(N C); on CPU this is several times
  faster than XLA's grouped convolution (feature_group_count = C), and slicing the padded
  input directly avoids a pad-convolve-crop round trip.
  """
  if padding == "zero":
    x = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  elif padding == "reflect":
    x = reflect_pad(x, 1)
  elif padding != "valid":
    raise ValueError(f"depthwise3x3: padding must be zero, reflect or valid, got {padding!r}")
  h, w = x.shape[1] - 2, x.shape[2] - 2
  out = None
  for dy in range(3):
    for dx in range(3):
      term = x[:, dy:dy + h, dx:dx + w, :] * kernel[dy, dx]
      out = term if out is None else out + term
  return out


class DepthwiseConv3x3(nn.Module):
  """Depthwise 3x3 convolution with bias and reflect borders: (B, H, W, C) -> same shape."""

  @nn.compact
  def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
    c = x.shape[-1]
    # fan_in of a depthwise filter is 9: the usual variance-scaling init over its 3x3 taps.
    kernel = self.param("kernel", nn.initializers.variance_scaling(1.0, "fan_in", "normal",
                                                                   in_axis=(0, 1), out_axis=2),
                        (3, 3, c))
    bias = self.param("bias", nn.initializers.zeros, (c,))
    return depthwise3x3(x, kernel, padding="reflect") + bias


class ConvStem(nn.Module):
  """`blocks` residual blocks h + Conv3x3_d(GELU(Conv3x3_{d/2}(h))) on the lifted features.

  The input is reflect-padded once by 2 * blocks and cropped at the end (module docstring),
  so each output pixel depends only on the input within 2 * blocks pixels of it. The inner
  convolution has d / 2 channels (ours; EDSR's blocks keep d): that halves the stem's cost,
  which runs at full resolution at every sampling step (the 25-step sample has a time
  budget, benchmarks/sample_scaling.py).

  Attributes:
    width: channels d (input and output).
    blocks: number of residual blocks (>= 1).
  """
  width: int
  blocks: int = 2

  @nn.compact
  def __call__(self, h: jnp.ndarray) -> jnp.ndarray:
    """(B, H, W, width) -> (B, H, W, width); H, W > 2 * blocks (reflect padding)."""
    n = 2 * self.blocks
    if h.shape[1] <= n or h.shape[2] <= n:
      raise ValueError(f"ConvStem: a {h.shape[1]}x{h.shape[2]} grid is too small for "
                       f"{self.blocks} blocks (reflect padding by {n})")
    x = reflect_pad(h, n)
    for b in range(self.blocks):
      r = nn.gelu(conv3x3(max(self.width // 2, 1), name=f"block{b}_conv0")(x))
      x = x + conv3x3(self.width, name=f"block{b}_conv1")(r)
    return crop(x, n)
