"""SRINO's guidance: auxiliary networks, residuals (pure math) and the Triple Guidance Adapter.

- `residuals`: `apply_kernel`, `spatial_residual`, `spectral_residual`, `channel_gate`.
- `gradient`: classic gradient guidance (the ablation baseline), a pure x0 correction.
- `networks`: f_M2P (`M2PNet`) and f_KE (`KENet`) with the sensor-MTF kernel prior.
- `adapters`: Phi, the pseudo-HRMS head and the per-layer adapters (`TripleGuidanceAdapter`).
"""

from srino_jax.guidance.adapters import (CrossModalEncoder, GateMLP, LayerAdapter,
                                         TripleGuidanceAdapter)
from srino_jax.guidance.gradient import consistency_loss, gradient_guidance
from srino_jax.guidance.networks import KENet, M2PNet, kernel_prior, softmax_kernels
from srino_jax.guidance.residuals import (apply_kernel, channel_gate, gated_features,
                                          spatial_residual, spectral_residual)

__all__ = [
    "CrossModalEncoder", "GateMLP", "LayerAdapter", "TripleGuidanceAdapter",
    "consistency_loss", "gradient_guidance",
    "KENet", "M2PNet", "kernel_prior", "softmax_kernels",
    "apply_kernel", "channel_gate", "gated_features", "spatial_residual", "spectral_residual",
]
