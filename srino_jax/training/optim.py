"""Optimizers of the training stages, with frozen parameter groups.

A stage's record (`training.stages`) names the top-level parameter groups it trains; every
other group is frozen. SRINO's parameter tree has four groups: `backbone` (the neural
operator G_theta), `tga` (the Triple Guidance Adapters and the pseudo-HRMS head), `m2p`
(f_M2P, MS -> pseudo-PAN) and `ke` (f_KE, the blur-kernel estimator):

  aux     f_M2P and f_KE        (their own L1 losses, before stage 2)
  stage1  the backbone          (condition = the reference H)
  stage2  the adapters          (backbone, f_M2P and f_KE frozen)

Freezing is an `optax.multi_transform` whose frozen branch is `set_to_zero`: frozen leaves get a
zero update and hold no Adam state. (`optax.masked(adamw, mask)` alone would pass the raw
gradient through for the masked-out leaves, i.e. train them by gradient ascent.)

`stage_optimizer(config, stage)` is the one place an optimizer is built from a run's config
(for training and for resuming alike).
"""

from __future__ import annotations

from typing import Any

import jax
import optax

from srino_jax.training.stages import get_stage

__all__ = ["param_labels", "lr_schedule", "make_optimizer", "stage_optimizer"]


def param_labels(params: Any, stage: str) -> Any:
  """Labels every leaf "train" or "frozen" by its top-level group and the stage's `trains`.

  Args:
    params: parameter pytree whose top level is a mapping of groups (SRINO: backbone, tga,
      m2p, ke).
    stage: a registered stage name.

  Returns:
    A pytree of the same structure with string leaves.
  """
  trainable = get_stage(stage).trains  # raises for an unknown stage, listing the known
  missing = [g for g in trainable if g not in params]
  if missing:
    raise ValueError(f"stage {stage} trains {missing}, absent from the parameter tree "
                     f"(top-level keys: {sorted(params)})")
  return {group: jax.tree.map(lambda _, g=group: "train" if g in trainable else "frozen", sub)
          for group, sub in params.items()}


def lr_schedule(learning_rate: float, decay_every: int, decay_factor: float) -> optax.Schedule:
  """Step decay: `learning_rate * decay_factor ** (step // decay_every)`."""
  return optax.exponential_decay(learning_rate, transition_steps=decay_every,
                                 decay_rate=decay_factor, staircase=True)


def make_optimizer(stage: str, *, learning_rate: float, decay_every: int, decay_factor: float,
                   b1: float, b2: float, weight_decay: float, grad_clip: float | None
                   ) -> optax.GradientTransformation:
  """AdamW with step decay on the stage's trainable groups; zero updates elsewhere.

  Args:
    stage: a registered stage name (its `trains` groups move).
    learning_rate, decay_every, decay_factor: the step-decay schedule (`lr_schedule`).
    b1, b2: Adam moments.
    weight_decay: decoupled weight decay.
    grad_clip: global-norm clipping of the trainable gradients; None or <= 0 = off. The
      transformation has the same state tree either way (an identity stands in for the
      clip), so a run can switch clipping on and resume from its checkpoints.

  Returns:
    An optax transformation to be initialised on the full parameter tree.
  """
  get_stage(stage)  # fail early, naming the known stages
  clip = (optax.clip_by_global_norm(grad_clip) if grad_clip is not None and grad_clip > 0
          else optax.identity())
  adamw = optax.chain(clip, optax.adamw(lr_schedule(learning_rate, decay_every, decay_factor),
                                        b1=b1, b2=b2, weight_decay=weight_decay))
  return optax.multi_transform({"train": adamw, "frozen": optax.set_to_zero()},
                               lambda params: param_labels(params, stage))


def stage_optimizer(config, stage: str) -> optax.GradientTransformation:
  """The stage's optimizer with the settings of `config.optim` (a run's ConfigDict)."""
  opt = config.optim
  return make_optimizer(stage, learning_rate=opt.learning_rate, decay_every=opt.decay_every,
                        decay_factor=opt.decay_factor, b1=opt.b1, b2=opt.b2,
                        weight_decay=opt.weight_decay, grad_clip=opt.grad_clip)
