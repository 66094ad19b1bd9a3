"""FusionNet (Deng, Vivone, Jin, Zhang, Chanussot 2020, "Detail injection-based deep
convolutional neural networks for pansharpening", IEEE TGRS): residual blocks on the
difference between the PAN and the upsampled MS, added back to the upsampled MS.

  D = P 1_C - L                       (B, H, W, C): PAN replicated to C bands minus L
  x = ReLU(conv3x3(D) -> 32)
  4 x  x = x + conv3x3(ReLU(conv3x3(x)))       (32 channels)
  Y = conv3x3(x) -> C,  output Y + L

Zero "SAME" padding, as the authors' code (padding 1). The last convolution's parameters
set to zero make the network return L exactly.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from srino_jax.learned.common import check_inputs, make_api
from srino_jax.operator.local import conv3x3

__all__ = ["FusionNet", "init_fusionnet", "fusionnet_loss", "fusionnet_fuse"]


class FusionNet(nn.Module):
  """Attributes: bands C, width (32), blocks (4).

  Call: lms (B, H, W, C), pan (B, H, W, 1) -> (B, H, W, C) fused, in lms's units.
  """
  bands: int
  width: int = 32
  blocks: int = 4

  @nn.compact
  def __call__(self, lms: jnp.ndarray, pan: jnp.ndarray) -> jnp.ndarray:
    check_inputs(lms, pan, self.bands, "FusionNet")
    detail = pan.astype(lms.dtype) - lms  # P replicated to C bands, minus L (broadcast)
    x = nn.relu(conv3x3(self.width, name="conv_in")(detail))
    for b in range(self.blocks):
      r = nn.relu(conv3x3(self.width, name=f"block{b}_conv0")(x))
      x = x + conv3x3(self.width, name=f"block{b}_conv1")(r)
    return conv3x3(self.bands, name="conv_out")(x) + lms


init_fusionnet, fusionnet_loss, fusionnet_fuse = make_api(
    "fusionnet", lambda cfg: FusionNet(cfg.bands))
