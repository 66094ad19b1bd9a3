"""Classic gradient guidance (the "gradient" ablation of SRINO), as a pure x0 correction.

Instead of feeding the residuals to the network, gradient guidance moves the denoiser's
estimate down the gradient of an unsupervised consistency loss at every sampling step:

  g(x0) = sum_images [ 1/2 sum_{h,w} R_spa^2  +  1/2 sum_{h,w,c} R_spe^2 ]
  R_spa = P - f_M2P(L + x0),   R_spe = KE * (L + x0) - L
  x0   <- x0 - alpha * grad_x0 g(x0)

KE are f_KE's kernels for the image, computed once; alpha = ModelConfig.gradient_weight.

Scale of alpha: with pixel *sums* of squared residuals the gradient at a pixel is the
residual itself carried back through f_M2P and the blur (for a band-mean f_M2P and a delta
kernel: -R_spa / C + R_spe), so alpha is a step in sensor-max units per unit residual,
independent of the image size. The curvature of g is about 1 for sum-to-one kernels and an
averaging f_M2P: alpha around 0.1-1 corrects, alpha >= 2 overshoots (the weight-tuning
burden that SRINO's residual inputs avoid).
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
  """g(x0) above: scalar float32, half the summed squared spatial and spectral residuals.

  Args:
    x0_hat: (B, H, W, C) residual estimate X0_hat (Y = L + X0_hat).
    pan: (B, H, W, 1); lms: (B, H, W, C) L; kernels: (B, k, k, C) f_KE output.
    m2p: callable image -> (B, H, W, 1) pseudo-PAN.
  """
  y = lms + x0_hat
  spa = jnp.sum(jnp.square(spatial_residual(pan, y, m2p)))
  spe = jnp.sum(jnp.square(spectral_residual(pan, lms, y, kernels)))
  return 0.5 * (spa + spe)


def gradient_guidance(x0_hat: jnp.ndarray, pan: jnp.ndarray, lms: jnp.ndarray,
                      m2p: Callable[[jnp.ndarray], jnp.ndarray], kernels: jnp.ndarray,
                      weight: float | jnp.ndarray) -> jnp.ndarray:
  """One gradient-guidance correction x0 - weight * grad g(x0): (B, H, W, C) float32."""
  grad = jax.grad(consistency_loss)(x0_hat, pan, lms, m2p, kernels)
  return x0_hat - weight * grad
