"""Orbax checkpoints of one training stage (the last few, and the best by validation), and
the parameters read back from them.

Training saves and resumes whole train states with `StageCheckpoints`; inference and the
stages that inherit trained groups read only the parameters with `restore_params`, which
needs no optimizer (so a run's checkpoints load whatever its optimizer settings were).

Layout under a stage directory:

  <dir>/last/<step>/{state,meta}   the most recent `keep` checkpoints (resume from here)
  <dir>/best/<step>/{state,meta}   the single best by the validation score

`meta` is JSON (stage, step, seed, validation scores). The data order and the random keys
are pure functions of (seed, step), so the step restores them too.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import orbax.checkpoint as ocp

__all__ = ["StageCheckpoints", "restore_params"]


class StageCheckpoints:
  """Saves and restores a stage's `TrainState` (any pytree) with its metadata."""

  def __init__(self, directory: str, keep: int = 3, best_mode: str = "max"):
    """Args:
      directory: the stage's folder; created on first save.
      keep: how many recent checkpoints `last/` keeps.
      best_mode: "max" or "min": whether a higher validation score is better.
    """
    if best_mode not in ("max", "min"):
      raise ValueError(f"best_mode must be 'max' or 'min', not {best_mode!r}")
    self.directory = os.path.abspath(directory)
    self._last = ocp.CheckpointManager(
        os.path.join(self.directory, "last"),
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True))
    self._best = ocp.CheckpointManager(
        os.path.join(self.directory, "best"),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=1, best_fn=lambda m: m["score"], best_mode=best_mode,
            keep_checkpoints_without_metrics=False, create=True))

  def latest_step(self) -> int | None:
    return self._last.latest_step()

  def best_step(self) -> int | None:
    return self._best.best_step()

  def save(self, step: int, state: Any, meta: dict, score: float | None = None) -> None:
    """Saves `state` at `step` in last/, and in best/ when `score` is given (and wins)."""
    args = ocp.args.Composite(state=ocp.args.StandardSave(state),
                              meta=ocp.args.JsonSave(meta))
    self._last.save(step, args=args, force=True)
    if score is not None:
      self._best.save(step, args=args, metrics={"score": float(score)}, force=True)

  def restore(self, target: Any, step: int | None = None, which: str = "last"
              ) -> tuple[Any, dict]:
    """Restores (state, meta) into the structure, dtypes and shardings of `target`.

    Args:
      target: a state of the right structure (concrete or abstract arrays); optax states
        come back as lists without it.
      step: which step; default the latest (which="last") or the best (which="best").
      which: "last" or "best".

    Raises:
      FileNotFoundError: if there is no checkpoint to restore.
    """
    mngr = {"last": self._last, "best": self._best}[which]
    if step is None:
      step = mngr.latest_step() if which == "last" else mngr.best_step()
    if step is None:
      raise FileNotFoundError(f"no checkpoint in {os.path.join(self.directory, which)}")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    out = mngr.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()))
    return out.state, dict(out.meta)

  def wait(self) -> None:
    """Blocks until asynchronous saves are on disk."""
    self._last.wait_until_finished()
    self._best.wait_until_finished()

  def close(self) -> None:
    self.wait()
    self._last.close()
    self._best.close()


def restore_params(directory: str, template: Any, which: str = "last",
                   step: int | None = None) -> Any:
  """Reads the parameters (only) of a stage checkpoint saved by `StageCheckpoints`.

  Args:
    directory: the stage's folder (holding last/ and best/).
    template: the parameter tree to read (arrays or `jax.ShapeDtypeStruct`s): its structure,
      shapes and dtypes; a sub-tree (e.g. a few top-level groups) reads only those.
    which: "last" (the latest checkpoint) or "best" (the best by validation).
    step: a particular step of `which` instead of the latest / best.

  Returns:
    The parameters, a tree like `template` of jax arrays on the default device.

  Raises:
    FileNotFoundError: naming the folder when it holds no checkpoint (or not that step).
  """
  if which not in ("last", "best"):
    raise ValueError(f"which must be 'last' or 'best', not {which!r}")
  path = os.path.join(os.path.abspath(directory), which)
  if not os.path.isdir(path):
    raise FileNotFoundError(f"no checkpoint in {path}")
  # Never saves: create=False (read_only=True would log four warnings per restore).
  mngr = ocp.CheckpointManager(path, options=ocp.CheckpointManagerOptions(create=False))
  try:
    steps = mngr.all_steps()
    if step is None and steps:
      # best/ keeps a single checkpoint (max_to_keep=1, kept by score): its latest is the best.
      step = mngr.latest_step()
    if step is None or step not in steps:
      raise FileNotFoundError(f"no checkpoint{'' if step is None else f' at step {step}'} in "
                              f"{path} (steps: {sorted(steps)})")
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = {"params": jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), template)}
    out = mngr.restore(step, args=ocp.args.Composite(state=ocp.args.PyTreeRestore(
        item=abstract, restore_args=ocp.checkpoint_utils.construct_restore_args(abstract),
        partial_restore=True)))
  finally:
    mngr.close()
  return out.state["params"]

