"""ModelConfig: the static description of a SRINO model (hashable: a jit static argument).

Its values come from the run's config (`configs/*.py`, turned into a ModelConfig by exactly
one function, `srino_jax.training.run.model_config`): the fields have no defaults, so no
number of the recipe is written here a second time.
"""

from __future__ import annotations

import dataclasses

from srino_jax.diffusion import Diffusion
from srino_jax.model.modes import GuidanceMode, get_guidance_mode

__all__ = ["ModelConfig"]


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Architecture and diffusion settings of one SRINO model.

  Attributes:
    bands: MS bands C (8 for WV3/WV2, 4 for QB/GF2).
    backbone: operator backbone, one of `srino_jax.operator.BACKBONES`
      ("galerkin" = SRINO, "softmax", "fno", "cnn").
    width: backbone width d.
    depth: number of operator layers L (and of TGA layer adapters).
    heads: attention heads.
    ffn_ratio: feed-forward hidden size in multiples of d.
    fno_modes: Fourier modes per axis (FNO backbone only).
    guidance: guidance mode, one of `GUIDANCE_MODES` ("both" = SRINO).
    adapter_width: a, channels of the cross-modal features V and of f_KE's hidden layers;
      the per-step parts (the TGA residual branches and f_M2P) use a // 2.
    kernel_size: f_KE's kernel size k.
    diffusion: the residual diffusion (T, the cosine offset and the residual scale s: the
      diffusion runs on s (H - L), 1 = the paper's X0), a frozen, hashable `Diffusion`.
    gradient_weight: alpha of the "gradient" guidance mode (a per-pixel step; < 2).
    condition_lms: also give L to the backbone's condition slot, [H, L] in stage 1 and
      [H^, L] in stage 2 (ours; False = the paper's G(X_t, H, t)). X0 = H - L cannot be
      computed from H alone, so without L stage 1 must guess L.
    local_operators: the backbone's local operators (SPEC 2): a convolutional stem after
      the pointwise lift and a depthwise 3x3 convolution in every feed-forward, the same in
      every backbone variant. False = the purely pointwise operator.
    stem_blocks: 3x3 residual blocks of the stem (with local_operators).
    sensor: sensor name for f_KE's MTF prior (None: a generic Gaussian prior).
  """

  bands: int
  backbone: str
  width: int
  depth: int
  heads: int
  ffn_ratio: int
  fno_modes: int
  guidance: str
  adapter_width: int
  kernel_size: int
  diffusion: Diffusion
  gradient_weight: float
  condition_lms: bool
  local_operators: bool
  stem_blocks: int
  sensor: str | None = None

  def __post_init__(self):
    from srino_jax.operator import BACKBONES  # local: keeps this module import-light

    for name in ("bands", "width", "depth", "heads", "ffn_ratio", "adapter_width",
                 "stem_blocks"):
      value = getattr(self, name)
      if not isinstance(value, int) or value < 1:
        raise ValueError(f"ModelConfig.{name} must be a positive int, got {value!r}")
    if self.kernel_size % 2 == 0 or self.kernel_size < 1:
      raise ValueError(f"ModelConfig.kernel_size must be odd, got {self.kernel_size}")
    if self.width % self.heads:
      raise ValueError(f"ModelConfig.width={self.width} is not divisible by heads={self.heads}")
    if self.backbone not in BACKBONES:
      raise ValueError(f"ModelConfig.backbone: unknown backbone {self.backbone!r}; "
                       f"known: {', '.join(BACKBONES)}")
    if not isinstance(self.diffusion, Diffusion):
      raise ValueError(f"ModelConfig.diffusion must be a Diffusion, got {self.diffusion!r}")
    get_guidance_mode(self.guidance)  # raises, listing the known modes
    if self.sensor is not None:
      from srino_jax.sensors import get_sensor  # raises, listing the known sensors

      if get_sensor(self.sensor).bands != self.bands:
        raise ValueError(f"ModelConfig.sensor {self.sensor!r} has "
                         f"{get_sensor(self.sensor).bands} bands, ModelConfig.bands={self.bands}")

  @property
  def mode(self) -> GuidanceMode:
    """The `GuidanceMode` registered under `guidance`."""
    return get_guidance_mode(self.guidance)
