"""Registry of SRINO's guidance modes (the paper's guidance ablation), keyed by config string.

  none      static conditions only: V fused into every layer, H^ in the condition slot
  spatial   + the spatial residual R_spa = P - f_M2P(Y_prev) in every layer
  spectral  + the gated spectral residual R_spe = KE * Y_prev - L in every layer
  both      + both residuals (SRINO, the default)
  gradient  static conditions as `none`, plus classic gradient guidance of the x0 estimate
            at every sampling step (`srino_jax.guidance.gradient`, weight alpha)

A mode is data (which adapter branches exist, and how the sampler corrects x0), so the
forward pass never branches on the string.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax.numpy as jnp

from srino_jax.guidance.gradient import gradient_guidance

__all__ = ["GuidanceMode", "GUIDANCE_MODES", "get_guidance_mode"]

# correct_x0(x0_hat, pan, lms, m2p, kernels, weight) -> x0_hat, applied at each sampling step.
X0Correction = Callable[..., jnp.ndarray]


def no_correction(x0_hat, pan, lms, m2p, kernels, weight):
  """The identity correction of the residual-guided and static modes."""
  del pan, lms, m2p, kernels, weight
  return x0_hat


@dataclasses.dataclass(frozen=True)
class GuidanceMode:
  """One guidance variant.

  Attributes:
    name: the config string.
    spatial: the adapters have the spatial residual branch (R_spa recomputed per step).
    spectral: the adapters have the spectral residual branch (R_spe recomputed per step).
    correct_x0: sampling-time correction of the denoiser's x0 estimate.
  """

  name: str
  spatial: bool
  spectral: bool
  correct_x0: X0Correction = no_correction

  @property
  def uses_residuals(self) -> bool:
    """Whether the prediction depends on the previous estimate Y_prev (closed loop)."""
    return self.spatial or self.spectral


GUIDANCE_MODES: dict[str, GuidanceMode] = {
    "none": GuidanceMode("none", spatial=False, spectral=False),
    "spatial": GuidanceMode("spatial", spatial=True, spectral=False),
    "spectral": GuidanceMode("spectral", spatial=False, spectral=True),
    "both": GuidanceMode("both", spatial=True, spectral=True),
    "gradient": GuidanceMode("gradient", spatial=False, spectral=False,
                             correct_x0=gradient_guidance),
}


def get_guidance_mode(name: str) -> GuidanceMode:
  """Looks a guidance mode up by its config string.

  Raises:
    ValueError: unknown name; the message lists the known ones.
  """
  try:
    return GUIDANCE_MODES[name]
  except (KeyError, TypeError):
    raise ValueError(f"unknown guidance mode {name!r}; known modes: "
                     f"{', '.join(GUIDANCE_MODES)}") from None
