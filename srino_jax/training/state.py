"""The training state of one stage and the factories of its jitted train and eval steps."""

from __future__ import annotations

from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax

from srino_jax.training.ema import EmaSettings, ema_update, init_ema

__all__ = ["TrainState", "make_train_step", "make_eval_step"]

# loss_fn(params, batch, key) -> (scalar loss, dict of scalar metrics)
LossFn = Callable[[Any, dict, jax.Array], tuple[jax.Array, dict]]


@flax.struct.dataclass
class TrainState:
  """One stage's state: the whole parameter tree, its optimizer state, the step and the EMA.

  The parameter tree always holds every group (backbone, tga, m2p, ke); the stage's optimizer
  decides which of them move. `ema` is {group: tree} of the trained groups
  (`training.ema`), or None for a run without EMA.
  """

  step: jax.Array  # () int32: optimizer steps taken in this stage
  params: Any
  opt_state: Any
  ema: Any = None

  # Fields a checkpoint written before they existed may lack (`StageCheckpoints.restore`).
  OPTIONAL_FIELDS = ("ema",)

  @classmethod
  def create(cls, params: Any, optimizer: optax.GradientTransformation,
             ema_groups: tuple[str, ...] = ()) -> "TrainState":
    """A fresh state; `ema_groups` (the trained groups, for a run with EMA) get an EMA."""
    return cls(step=jnp.zeros((), jnp.int32), params=params,
               opt_state=optimizer.init(params),
               ema=init_ema(params, ema_groups) if ema_groups else None)


def make_train_step(loss_fn: LossFn, optimizer: optax.GradientTransformation,
                    labels: Any | None = None, ema: EmaSettings | None = None) -> Callable:
  """Returns the jitted `train_step(state, batch, key) -> (state, metrics)`.

  Args:
    loss_fn: `(params, batch, key) -> (loss, metrics)`, a mean over the batch, so that a batch
      sharded across devices gives the single-device value.
    optimizer: the stage's optax transformation (frozen groups included, as zero updates).
    labels: optional pytree of "train"/"frozen" (`optim.param_labels`); the reported gradient
      norm then covers the trained groups only, which also lets XLA drop the unused
      gradients of frozen groups.
    ema: the EMA's decay and start; the state's `ema` (when it has one) follows the new
      parameters after every step.

  The state argument is donated: do not reuse it after the call.
  """

  def train_step(state: TrainState, batch: dict, key: jax.Array):
    (loss, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params, batch, key)
    updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    if labels is not None:
      grads = jax.tree.map(lambda g, lab: g if lab == "train" else jnp.zeros((), g.dtype),
                           grads, labels)
    metrics = {**metrics, "loss": loss, "grad_norm": optax.tree.norm(grads)}
    step = state.step + 1
    averaged = state.ema
    if averaged is not None:
      if ema is None:
        raise ValueError("the train state has an EMA but make_train_step got no EmaSettings")
      averaged = ema_update(averaged, params, step, ema)
    return state.replace(step=step, params=params, opt_state=opt_state, ema=averaged), metrics

  return jax.jit(train_step, donate_argnums=0)


def make_eval_step(loss_fn: LossFn) -> Callable:
  """Returns the jitted `eval_step(params, batch, key) -> (loss, metrics)` of the same loss
  the train step minimises (no gradient, no update)."""
  return jax.jit(loss_fn)
