"""SRINO assembled: configuration, the flax model, pure losses and sampling.

- `ModelConfig`: the static, hashable model description.
- `init_params(cfg, key)`: {"backbone", "tga", "m2p", "ke"} parameter groups.
- `aux_loss`, `stage1_loss`, `stage2_loss`: pure `(cfg, params, batch, key) -> (loss, metrics)`.
- `make_predict_x0`, `sample`: the DDIM sampler with closed-loop residual guidance.
- `GUIDANCE_MODES`, `get_guidance_mode`: the guidance ablation registry.
"""

from srino_jax.model.batch import unpack_batch
from srino_jax.model.config import ModelConfig
from srino_jax.model.denoiser import SRINO, build_backbone, init_params
from srino_jax.model.losses import aux_loss, noisy_residual, stage1_loss, stage2_loss
from srino_jax.model.modes import GUIDANCE_MODES, GuidanceMode, get_guidance_mode
from srino_jax.model.sampling import make_predict_x0, sample

__all__ = [
    "ModelConfig", "SRINO", "build_backbone", "init_params", "unpack_batch",
    "aux_loss", "noisy_residual", "stage1_loss", "stage2_loss",
    "GUIDANCE_MODES", "GuidanceMode", "get_guidance_mode",
    "make_predict_x0", "sample",
]
