"""PNN (Masi, Cozzolino, Verdoliva, Scarpa 2016, "Pansharpening by convolutional neural
networks", Remote Sensing 8(7) 594): three convolutions on the stacked [L, P].

  x = [L, P]                         (B, H, W, C + 1), L = interp23tap-upsampled MS
  conv 9x9, 64 -> ReLU -> conv 5x5, 32 -> ReLU -> conv 5x5, C = the fused image

The paper's convolutions are "valid" (the output shrinks by the network's scope, 8 pixels per
side); to return an image of the input's size the input is padded by the scope with
replicated edges first (ours). The
convolutions run zero-padded ("SAME") on the padded input and the scope is cropped after:
zero padding reaches only the outer 4 + 2 + 2 = 8 pixels, so this equals valid convolutions,
and XLA on CPU runs "SAME" ones faster. No residual: the output is the fused image itself
(A-PNN's skip connection came later). The paper's optional radiometric-index inputs (NDVI,
NDWI) are not used.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from srino_jax.learned.common import check_inputs, make_api
from srino_jax.operator.local import crop

__all__ = ["PNN", "SCOPE", "init_pnn", "pnn_loss", "pnn_fuse"]

KERNELS = (9, 5, 5)
SCOPE = sum(k // 2 for k in KERNELS)  # 8: pixels per side one output pixel reaches


class PNN(nn.Module):
  """Attributes: bands C. Call: lms (B, H, W, C), pan (B, H, W, 1) -> (B, H, W, C)."""
  bands: int

  @nn.compact
  def __call__(self, lms: jnp.ndarray, pan: jnp.ndarray) -> jnp.ndarray:
    check_inputs(lms, pan, self.bands, "PNN")
    x = jnp.concatenate([lms, pan.astype(lms.dtype)], axis=-1)
    x = jnp.pad(x, ((0, 0), (SCOPE, SCOPE), (SCOPE, SCOPE), (0, 0)), mode="edge")
    for i, (k, features) in enumerate(zip(KERNELS, (64, 32, self.bands))):
      x = nn.Conv(features, (k, k), padding="SAME", name=f"conv{i}")(x)
      if i < len(KERNELS) - 1:
        x = nn.relu(x)
    return crop(x, SCOPE)


init_pnn, pnn_loss, pnn_fuse = make_api("pnn", lambda cfg: PNN(cfg.bands))
