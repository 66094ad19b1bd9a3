"""Denoiser backbones G = P_out . M_L ... M_1 . P_in (SPEC 2) and their ablation variants.

Every variant has the same pieces and methods; only the global "mixer" inside M_l differs:

  galerkin  Galerkin attention Q (K^T V) / N             O(N d^2), discretisation invariant
  softmax   softmax attention, same layer and width      O(N^2) memory (the baseline)
  fno       spectral convolution + pointwise path        O(N log N), truncated Fourier modes
  cnn       3x3 convolution                              local, tied to the pixel grid

Lift P_in: h = Dense([x_t, cond, grid]), then with `local_operators` a convolutional stem
of `stem_blocks` 3x3 residual blocks (SRNO's EDSR encoder before its Galerkin layers).

Operator layer M_l (one `layer(l, h, temb)` call), no pre-norm on the residual stream
(as Cao 2021's Galerkin Transformer: only K and V are normalised, inside the mixer):

  h = h * (1 + scale_l) + shift_l,  (scale_l, shift_l) = Dense_l(temb)   # diffusion time
  h = h + Mixer_l(h)                                                     # global operator
  h = h + FFN_l(h)                # Dense -> [depthwise 3x3 if local_operators] -> GELU -> Dense

The local parts (stem, depthwise conv) are the same in every variant, so the backbone
ablation compares only the global mixer; `local_operators=False` is the purely pointwise
operator (no stem or depthwise parameters at all).

`lift`, `layer` and `project` are separate methods (sharing submodules made in `setup`) so
that the model assembly can insert the guidance adapters between layers.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from srino_jax.operator.galerkin import GalerkinAttention, galerkin_attention, softmax_attention
from srino_jax.operator.layers import FeedForward, Lift, Projection, TimeEmbedding, TimeModulation
from srino_jax.operator.local import ConvStem
from srino_jax.operator.spectral import SpectralMixer


class OperatorBackbone(nn.Module):
  """Shared skeleton of all backbones; subclasses only define `make_mixer`.

  Attributes:
    out_channels: C, bands of the predicted residual X0_hat.
    width: d, channels of the hidden function h.
    depth: L, number of operator layers.
    heads: attention heads (attention variants).
    ffn_ratio: hidden size of the feed-forward block, in multiples of width.
    local_operators: add the convolutional stem after the lift and the depthwise 3x3
      convolution in every feed-forward (SPEC 2); False = the pointwise operator.
    stem_blocks: residual blocks of the stem (used when local_operators).
  """
  out_channels: int
  width: int = 64
  depth: int = 4
  heads: int = 4
  ffn_ratio: int = 2
  local_operators: bool = False
  stem_blocks: int = 2

  def make_mixer(self, l: int) -> nn.Module:
    """The global part of layer l: (B, H, W, width) -> (B, H, W, width)."""
    raise NotImplementedError

  @property
  def time_features(self) -> int:
    """d_t, size of the time embedding returned by `lift`."""
    return 4 * self.width

  def setup(self):
    self.lift_in = Lift(self.width)                        # P_in (pointwise part)
    if self.local_operators:
      if self.stem_blocks < 1:
        raise ValueError(f"stem_blocks must be >= 1 with local operators, got {self.stem_blocks}")
      self.stem = ConvStem(self.width, self.stem_blocks)   # P_in (local part)
    self.time_embed = TimeEmbedding(self.time_features)   # sinusoidal + MLP
    self.modulations = [TimeModulation(self.width) for _ in range(self.depth)]
    self.mixers = [self.make_mixer(l) for l in range(self.depth)]
    self.ffns = [FeedForward(self.width, self.ffn_ratio, depthwise=self.local_operators)
                 for _ in range(self.depth)]
    self.proj_out = Projection(self.width, self.out_channels)  # P_out

  def lift(self, x_t: jnp.ndarray, cond: jnp.ndarray,
           t: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """P_in and the time embedding.

    Args:
      x_t: (B, H, W, C) noisy residual.
      cond: (B, H, W, Cc) condition on the same grid (e.g. H or the pseudo-HRMS, P, L).
      t: (B,) int32 training timesteps.

    Returns:
      h: (B, H, W, width) lifted features; temb: (B, time_features) time embedding.
    """
    t = jnp.asarray(t)
    if t.shape != (x_t.shape[0],):
      raise ValueError(f"t must have shape ({x_t.shape[0]},) (one step per sample), got {t.shape}")
    h = self.lift_in(x_t, cond)
    if self.local_operators:
      h = self.stem(h)
    return h, self.time_embed(t)

  def layer(self, l: int, h: jnp.ndarray, temb: jnp.ndarray) -> jnp.ndarray:
    """Operator layer M_l, 0 <= l < depth: (B, H, W, width) -> (B, H, W, width)."""
    if not 0 <= l < self.depth:
      raise ValueError(f"layer index l={l} out of range [0, {self.depth})")
    h = self.modulations[l](h, temb)  # time enters every layer: h (1 + scale) + shift
    h = h + self.mixers[l](h)         # M_l's integral operator (global over pixels)
    return h + self.ffns[l](h)        # feed-forward (depthwise 3x3 inside if local)

  def project(self, h: jnp.ndarray) -> jnp.ndarray:
    """P_out: (B, H, W, width) -> (B, H, W, out_channels)."""
    return self.proj_out(h)

  def __call__(self, x_t: jnp.ndarray, cond: jnp.ndarray, t: jnp.ndarray) -> jnp.ndarray:
    """G_theta(x_t, cond, t): (B, H, W, C), (B, H, W, Cc), (B,) -> (B, H, W, out_channels)."""
    h, temb = self.lift(x_t, cond, t)
    for l in range(self.depth):
      h = self.layer(l, h, temb)
    return self.project(h)


class GalerkinBackbone(OperatorBackbone):
  """SRINO's backbone: Galerkin attention Q (K^T V) / N in every layer."""

  def make_mixer(self, l: int) -> nn.Module:
    return GalerkinAttention(self.width, self.heads, galerkin_attention)


class SoftmaxBackbone(OperatorBackbone):
  """Ablation / efficiency baseline: the same layer with softmax attention (O(N^2))."""

  def make_mixer(self, l: int) -> nn.Module:
    return GalerkinAttention(self.width, self.heads, softmax_attention)


class FNOBackbone(OperatorBackbone):
  """Ablation: Fourier neural operator layers (spectral convolution + pointwise path).

  Attributes:
    fno_modes: Fourier modes kept per axis (clipped to what the grid resolves).
  """
  fno_modes: int = 12

  def make_mixer(self, l: int) -> nn.Module:
    return SpectralMixer(self.width, self.fno_modes)


class CNNBackbone(OperatorBackbone):
  """Ablation: a plain CNN, a 3x3 convolution in place of the global mixer.

  Its receptive field is measured in pixels, so it is not discretisation invariant.
  """

  def make_mixer(self, l: int) -> nn.Module:
    return nn.Conv(self.width, (3, 3), padding="SAME")
