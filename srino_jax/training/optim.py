"""Optimizers for the three training stages, with frozen parameter groups.

The parameter tree of a SRINO model has four top-level groups: `backbone` (the neural
operator G_theta), `tga` (the Triple Guidance Adapters and the pseudo-HRMS head), `m2p`
(f_M2P, MS -> pseudo-PAN) and `ke` (f_KE, the blur-kernel estimator). Each stage trains
some groups and freezes the rest:

  aux     f_M2P and f_KE        (their own L1 losses, before stage 2)
  stage1  the backbone          (condition = the reference H)
  stage2  the adapters          (backbone, f_M2P and f_KE frozen)

Freezing is an `optax.multi_transform` whose frozen branch is `set_to_zero`: frozen leaves get a
zero update and hold no Adam state. (`optax.masked(adamw, mask)` alone would pass the raw
gradient through for the masked-out leaves, i.e. train them by gradient ascent.)
"""

from __future__ import annotations

from typing import Any

import jax
import optax

__all__ = ["STAGE_TRAINABLE", "param_labels", "lr_schedule", "make_optimizer"]

STAGE_TRAINABLE: dict[str, tuple[str, ...]] = {
    "aux": ("m2p", "ke"),
    "stage1": ("backbone",),
    "stage2": ("tga",),
}


def param_labels(params: Any, stage: str) -> Any:
  """Labels every leaf "train" or "frozen" by its top-level group and the stage.

  Args:
    params: parameter pytree whose top level is a mapping with (some of) the keys
      backbone, tga, m2p, ke.
    stage: one of STAGE_TRAINABLE.

  Returns:
    A pytree of the same structure with string leaves.
  """
  if stage not in STAGE_TRAINABLE:
    raise ValueError(f"unknown stage {stage!r}; known: {', '.join(STAGE_TRAINABLE)}")
  trainable = STAGE_TRAINABLE[stage]
  missing = [g for g in trainable if g not in params]
  if missing:
    raise ValueError(f"stage {stage} trains {missing}, absent from the parameter tree "
                     f"(top-level keys: {sorted(params)})")
  return {group: jax.tree.map(lambda _, g=group: "train" if g in trainable else "frozen", sub)
          for group, sub in params.items()}


def lr_schedule(learning_rate: float = 4e-5, decay_every: int = 10_000,
                decay_factor: float = 0.5) -> optax.Schedule:
  """Step decay: `learning_rate * decay_factor ** (step // decay_every)` (paper: 4e-5, x0.5 / 10k)."""
  return optax.exponential_decay(learning_rate, transition_steps=decay_every,
                                 decay_rate=decay_factor, staircase=True)


def make_optimizer(stage: str, learning_rate: float = 4e-5, decay_every: int = 10_000,
                   decay_factor: float = 0.5, b1: float = 0.9, b2: float = 0.999,
                   weight_decay: float = 0.01, grad_clip: float | None = None
                   ) -> optax.GradientTransformation:
  """AdamW with step decay on the stage's trainable groups; zero updates elsewhere.

  Args:
    stage: "aux", "stage1" or "stage2".
    learning_rate, decay_every, decay_factor: the step-decay schedule (`lr_schedule`).
    b1, b2: Adam moments (paper: 0.9, 0.999).
    weight_decay: decoupled weight decay (the paper does not state it; PyTorch's AdamW
      default 0.01).
    grad_clip: global-norm clipping of the trainable gradients, or None.

  Returns:
    An optax transformation to be initialised on the full parameter tree.
  """
  adamw = optax.adamw(lr_schedule(learning_rate, decay_every, decay_factor), b1=b1, b2=b2,
                      weight_decay=weight_decay)
  if grad_clip is not None:
    adamw = optax.chain(optax.clip_by_global_norm(grad_clip), adamw)
  return optax.multi_transform({"train": adamw, "frozen": optax.set_to_zero()},
                               lambda params: param_labels(params, stage))
