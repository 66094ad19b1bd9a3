"""Triple Guidance Adapter (TGA) of SRINO: thin flax wrappers around the residual math.

Per operator layer l of the frozen backbone (features F = F_t^l, width d), before M_l:

  cross-modal fusion   F~ = Conv3x3([F, V]) + F                       V = Phi([P, L, P - f_M2P(L)])
  spatial branch       Z  = CB(Cat[F~, Proj_spa(R_spa)]) + F~          R_spa = P - f_M2P(Y_prev)
  spectral branch      F' = Z + Out(w * S),  S = Proj_spe(R_spe),      R_spe = KE * Y_prev - L
                       w  = sigmoid(MLP([GAP(S), GMP(S)]))             (channel attention gate)

and the condition slot of the backbone receives the pseudo-HRMS H^ = Conv3x3(V) + L.

Implementation choices (ours, the paper is silent):
- Conv3x3([F, V]) is linear in its input channels, so it is computed as
  Conv3x3_F(F) + Conv3x3_V(V). The V part does not change between sampling steps and is
  computed once per image (`TripleGuidanceAdapter.encode`), outside the DDIM scan.
- The layers that write into the backbone's features (the fusion convs, CB's last conv, the
  spectral output) and the H^ head start at zero, so an untrained TGA leaves the stage-1
  denoiser unchanged (H^ = L) and stage 2 starts from the pre-trained behaviour.
- The spectral projection and output have no bias: a zero residual contributes exactly zero.
- CB is 1x1 (mix) -> GELU -> 3x3 -> GELU -> 1x1 at the branch width a / 2: a small conv
  block whose cost stays well below an operator layer's. The residual branches run every
  layer of every sampling step, so their width is what the closed loop costs; V (computed
  once per image) keeps the full adapter width a. Proj(R_spa) followed by CB's first 1x1
  is linear, so it is one 3x3 convolution of R_spa added to the 1x1 of F~ (same function
  class as Cat + 1x1, without materialising the concatenation).
- The per-step convolutions pad with zeros ("SAME"); the once-per-image ones (Phi, the H^
  head) see reflect-padded inputs, as f_M2P and f_KE do.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from srino_jax.guidance.residuals import gated_features
from srino_jax.operator.local import conv3x3, crop, reflect_pad

__all__ = ["CrossModalEncoder", "GateMLP", "LayerAdapter", "TripleGuidanceAdapter"]

_zeros = nn.initializers.zeros


def _conv1(features: int, **kw) -> nn.Conv:
  return nn.Conv(features, (1, 1), **kw)


class CrossModalEncoder(nn.Module):
  """Phi: [P, L, P - f_M2P(L)] -> cross-modal features V (B, H, W, a)."""

  width: int = 32

  @nn.compact
  def __call__(self, pan: jnp.ndarray, lms: jnp.ndarray, pseudo_pan: jnp.ndarray) -> jnp.ndarray:
    x = jnp.concatenate([pan, lms, pan - pseudo_pan], axis=-1)  # V's input (paper's Phi)
    h = nn.gelu(conv3x3(self.width, name="conv1")(reflect_pad(x, 2)))  # reflect borders
    return crop(conv3x3(self.width, name="conv2")(h), 2)


class GateMLP(nn.Module):
  """MLP of the channel attention gate: (B, 2a) [GAP, GMP] -> (B, a) logits."""

  width: int
  hidden: int

  @nn.compact
  def __call__(self, pooled: jnp.ndarray) -> jnp.ndarray:
    return nn.Dense(self.width, name="fc2")(nn.gelu(nn.Dense(self.hidden, name="fc1")(pooled)))


class LayerAdapter(nn.Module):
  """The TGA injection in front of one operator layer M_l.

  Attributes:
    width: backbone feature width d.
    adapter_width: a, channels of V; the residual branches run at `branch_width` = a // 2.
    spatial: whether the spatial residual branch exists (guidance mode).
    spectral: whether the spectral residual branch exists (guidance mode).
  """

  width: int
  adapter_width: int = 32
  spatial: bool = True
  spectral: bool = True

  @property
  def branch_width(self) -> int:
    """Channels of the residual branches: a // 2 (the residuals have 1 and C channels)."""
    return max(self.adapter_width // 2, 4)

  def setup(self):
    d, a = self.width, self.branch_width
    # Conv3x3([F, V]) split by linearity: fuse_f(F) + fuse_v(V) (bias in fuse_f only).
    self.fuse_f = conv3x3(d, kernel_init=_zeros)
    self.fuse_v = conv3x3(d, kernel_init=_zeros, use_bias=False)
    if self.spatial:
      # CB's first 1x1 on Cat[F~, Proj(R_spa)] = cb_in(F~) + W (Proj(R_spa)); the linear
      # W . Proj is one 3x3 conv of R_spa (`proj_spa`), so no concatenation is formed.
      self.proj_spa = conv3x3(a, use_bias=False)
      self.cb_in = nn.Dense(a)
      self.cb_mid = conv3x3(a)
      self.cb_out = nn.Dense(d, kernel_init=_zeros)
    if self.spectral:
      self.proj_spe = conv3x3(a, use_bias=False)         # S = Proj(R_spe)
      self.gate = GateMLP(a, max(a // 2, 4))            # w = sigmoid(MLP([GAP, GMP]))
      self.spe_out = nn.Dense(d, kernel_init=_zeros, use_bias=False)

  def static(self, v: jnp.ndarray) -> jnp.ndarray:
    """The step-independent part of the fusion, Conv3x3_V(V): (B, H, W, d)."""
    return self.fuse_v(v)

  def __call__(self, f: jnp.ndarray, fused_v: jnp.ndarray, r_spa: jnp.ndarray | None,
               r_spe: jnp.ndarray | None) -> jnp.ndarray:
    """Args:
      f: (B, H, W, d) features entering M_l.
      fused_v: (B, H, W, d) `static(V)` of this layer.
      r_spa: (B, H, W, 1) spatial residual, or None when the branch is off.
      r_spe: (B, H, W, C) spectral residual, or None when the branch is off.

    Returns:
      (B, H, W, d) features for M_l.
    """
    f = self.fuse_f(f) + fused_v + f                    # F~ = Conv3x3([F, V]) + F
    if self.spatial:
      z = nn.gelu(self.cb_in(f) + self.proj_spa(r_spa))
      z = nn.gelu(self.cb_mid(z))
      f = self.cb_out(z) + f                            # Z = CB(Cat[F~, Proj(R_spa)]) + F~
    if self.spectral:
      s = self.proj_spe(r_spe)
      f = f + self.spe_out(gated_features(s, self.gate))  # + Out(w * S)
    return f


class TripleGuidanceAdapter(nn.Module):
  """All of stage 2's trainable modules: Phi, the H^ head and one adapter per layer.

  Attributes:
    bands: MS bands C.
    width: backbone width d.
    depth: number of operator layers L (one adapter each).
    adapter_width: a.
    spatial, spectral: branches present (from the guidance mode registry).
  """

  bands: int
  width: int
  depth: int
  adapter_width: int = 32
  spatial: bool = True
  spectral: bool = True

  def setup(self):
    self.phi = CrossModalEncoder(self.adapter_width)
    self.head = conv3x3(self.bands, kernel_init=_zeros)  # H^ = Conv3x3(V) + L
    self.layers = [LayerAdapter(self.width, self.adapter_width, self.spatial, self.spectral)
                   for _ in range(self.depth)]

  def encode(self, pan: jnp.ndarray, lms: jnp.ndarray,
             pseudo_pan_lms: jnp.ndarray) -> dict[str, Any]:
    """Step-independent conditions, computed once per image.

    Args:
      pan: (B, H, W, 1); lms: (B, H, W, C); pseudo_pan_lms: (B, H, W, 1) f_M2P(L).

    Returns:
      dict with "v" (B, H, W, a) cross-modal features, "hhat" (B, H, W, C) the pseudo-HRMS
      H^ and "fused_v" a tuple of `depth` (B, H, W, d) fusion terms Conv3x3_V^l(V).
    """
    v = self.phi(pan, lms, pseudo_pan_lms)
    hhat = crop(self.head(reflect_pad(v, 1)), 1) + lms
    return {"v": v, "hhat": hhat, "fused_v": tuple(layer.static(v) for layer in self.layers)}

  def inject(self, l: int, f: jnp.ndarray, fused_v: jnp.ndarray, r_spa: jnp.ndarray | None,
             r_spe: jnp.ndarray | None) -> jnp.ndarray:
    """Applies layer l's adapter (see `LayerAdapter.__call__`)."""
    return self.layers[l](f, fused_v, r_spa, r_spe)
