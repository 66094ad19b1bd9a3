"""Classic gradient guidance (the "gradient" ablation of SRINO), as a pure x0 correction.

Instead of feeding the residuals to the network, gradient guidance moves the denoiser's
estimate down the gradient of an unsupervised consistency loss at every sampling step:

  g(x0) = sum_b [ mean_{h,w} |P - f_M2P(L + x0)|  +  mean_{h,w,c} |KE * (L + x0) - L| ]
  x0   <- x0 - alpha * grad_x0 g(x0)

i.e. the two L1 terms are per-image *means* of absolute values, summed over the batch (so
each image's gradient is its own). KE are f_KE's kernels for the image, computed once;
alpha = ModelConfig.gradient_weight.

Scale of alpha: the *loss value* does not depend on the image size, but its gradient per
pixel does: d g / d x0 is O(1 / (H W C)) (e.g. (sign terms) / (H W C) for a band-mean f_M2P),
so one step moves each pixel by about alpha / (H W C) in sensor-max units: ~3e-5 * alpha on a
64 x 64 x 8 training patch, 16x less on a 256 x 256 test scene. This is what a mean-reduced
L1 loss (PyTorch's default reduction) gives; compare alpha values at one image size only.
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from srino_jax.guidance.residuals import spatial_residual, spectral_residual

__all__ = ["consistency_loss", "gradient_guidance"]


def consistency_loss(x0_hat: jnp.ndarray, pan: jnp.ndarray, lms: jnp.ndarray,
                     m2p: Callable[[jnp.ndarray], jnp.ndarray],
                     kernels: jnp.ndarray) -> jnp.ndarray:
  """g(x0) above: scalar float32, the batch sum of the per-image spatial + spectral L1 means.

  Args:
    x0_hat: (B, H, W, C) residual estimate X0_hat (Y = L + X0_hat).
    pan: (B, H, W, 1); lms: (B, H, W, C) L; kernels: (B, k, k, C) f_KE output.
    m2p: callable image -> (B, H, W, 1) pseudo-PAN.
  """
  y = lms + x0_hat
  spa = jnp.mean(jnp.abs(spatial_residual(pan, y, m2p)), axis=(1, 2, 3))
  spe = jnp.mean(jnp.abs(spectral_residual(pan, lms, y, kernels)), axis=(1, 2, 3))
  return jnp.sum(spa + spe)


def gradient_guidance(x0_hat: jnp.ndarray, pan: jnp.ndarray, lms: jnp.ndarray,
                      m2p: Callable[[jnp.ndarray], jnp.ndarray], kernels: jnp.ndarray,
                      weight: float | jnp.ndarray) -> jnp.ndarray:
  """One gradient-guidance correction x0 - weight * grad g(x0): (B, H, W, C) float32."""
  grad = jax.grad(consistency_loss)(x0_hat, pan, lms, m2p, kernels)
  return x0_hat - weight * grad
