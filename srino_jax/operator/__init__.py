"""Neural-operator backbones of the SRINO denoiser.

Start at `galerkin.py`: `galerkin_attention(q, k, v)` is the whole idea, Q (K^T V) / N.
`backbones.py` builds G = P_out . M_L ... M_1 . P_in from it; `make_backbone(name, ...)`
picks a variant by its config string: "galerkin" (SRINO), "softmax" (O(N^2) baseline),
"fno" (spectral convolution), "cnn" (3x3 convolutions). `local.py` holds the local
operators every variant shares when `local_operators=True` (conv stem, depthwise FFN conv)
and the reflect-border conv helpers (`reflect_pad`, `crop`, `conv3x3`).
"""

from __future__ import annotations

from srino_jax.operator.backbones import (CNNBackbone, FNOBackbone, GalerkinBackbone,
                                          OperatorBackbone, SoftmaxBackbone)
from srino_jax.operator.galerkin import GalerkinAttention, galerkin_attention, softmax_attention
from srino_jax.operator.layers import (FeedForward, Lift, Projection, TimeEmbedding,
                                       TimeModulation, grid_coordinates, sinusoidal_embedding)
from srino_jax.operator.local import (ConvStem, DepthwiseConv3x3, conv3x3, crop, depthwise3x3,
                                     reflect_pad)
from srino_jax.operator.spectral import SpectralConv2d, SpectralMixer

BACKBONES: dict[str, type[OperatorBackbone]] = {
    "galerkin": GalerkinBackbone,
    "softmax": SoftmaxBackbone,
    "fno": FNOBackbone,
    "cnn": CNNBackbone,
}


def make_backbone(name: str, out_channels: int, **kwargs) -> OperatorBackbone:
  """Builds the backbone registered under `name` (a config string).

  Args:
    name: one of BACKBONES ("galerkin", "softmax", "fno", "cnn").
    out_channels: bands C of the predicted residual.
    **kwargs: module attributes (width, depth, heads, ffn_ratio, local_operators,
      stem_blocks; fno_modes for "fno").

  Raises:
    ValueError: unknown name (the message lists the registered names).
  """
  if name not in BACKBONES:
    raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}")
  return BACKBONES[name](out_channels=out_channels, **kwargs)


__all__ = [
    "BACKBONES", "make_backbone", "OperatorBackbone", "GalerkinBackbone", "SoftmaxBackbone",
    "FNOBackbone", "CNNBackbone", "GalerkinAttention", "galerkin_attention",
    "softmax_attention", "SpectralConv2d", "SpectralMixer", "FeedForward", "Lift",
    "Projection", "TimeEmbedding", "TimeModulation", "grid_coordinates",
    "sinusoidal_embedding", "ConvStem", "DepthwiseConv3x3", "conv3x3", "crop", "depthwise3x3",
    "reflect_pad",
]
