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

Failures are reported as `srino_jax.errors`: a damaged latest checkpoint (a missing or
truncated file) is named in one warning and the newest intact one is used instead (the
damaged step folder is moved to `<dir>/damaged/`, never deleted); no intact checkpoint is a
`CheckpointError`; a full disk during a save is an `OutputError` naming the step and the last
checkpoint that is still intact.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import orbax.checkpoint as ocp

from srino_jax.errors import WRITE_ERRNOS, CheckpointError, OutputError

__all__ = ["StageCheckpoints", "restore_params", "write_errno", "summary"]


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
    self._failed = False  # a save failed writing (reported once; close() stays quiet)
    self._last = ocp.CheckpointManager(
        os.path.join(self.directory, "last"), item_handlers=_handlers(),
        options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True))
    self._best = ocp.CheckpointManager(
        os.path.join(self.directory, "best"), item_handlers=_handlers(),
        options=ocp.CheckpointManagerOptions(
            max_to_keep=1, best_fn=lambda m: m["score"], best_mode=best_mode,
            keep_checkpoints_without_metrics=False, create=True))

  def latest_step(self) -> int | None:
    return self._last.latest_step()

  def best_step(self) -> int | None:
    return self._best.best_step()

  def save(self, step: int, state: Any, meta: dict, score: float | None = None) -> None:
    """Saves `state` at `step` in last/, and in best/ when `score` is given (and wins)."""
    # PyTree args (the format StandardSave writes): the same handler restores, reads the
    # tree metadata and restores partially (`_restore`).
    args = ocp.args.Composite(state=ocp.args.PyTreeSave(state),
                              meta=ocp.args.JsonSave(meta))
    try:  # Orbax saves asynchronously: an earlier save's failure surfaces here too
      self._last.save(step, args=args, force=True)
      if score is not None:
        self._best.save(step, args=args, metrics={"score": float(score)}, force=True)
    except Exception as err:  # noqa: BLE001 - translated when it is a write error
      raise self._write_error(err, step) from err

  def restore(self, target: Any, step: int | None = None, which: str = "last",
              optional: Sequence[str] = ()) -> tuple[Any, dict]:
    """Restores (state, meta) into the structure, dtypes and shardings of `target`.

    The latest checkpoint of last/ (step None) falls back to the newest intact one when it
    is damaged: one warning names the damaged step and the step used, and the damaged step
    folders are moved to `<dir>/damaged/` (so that training can save that step again).

    Args:
      target: a state of the right structure (concrete or abstract arrays); optax states
        come back as lists without it.
      step: which step; default the latest (which="last") or the best (which="best").
      which: "last" or "best".
      optional: top-level fields of `target` that older checkpoints may lack (e.g. "ema");
        the missing ones are returned as the target has them (abstract when the target
        is), named in meta["absent_fields"].

    Raises:
      FileNotFoundError: if there is no checkpoint to restore.
      CheckpointError: the checkpoint asked for (or every one of last/) cannot be read.
    """
    mngr = {"last": self._last, "best": self._best}[which]
    path = os.path.join(self.directory, which)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    if step is not None or which == "best":
      step = mngr.best_step() if step is None else step
      if step is None:
        raise FileNotFoundError(f"no checkpoint in {path}")
      try:
        return _restore(mngr, step, abstract, optional)
      except Exception as err:  # noqa: BLE001 - Orbax/TensorStore raise many kinds
        raise CheckpointError(f"checkpoint step {step} in {path} cannot be read "
                              f"({summary(err)})", "Pick another step or retrain.") from err
    steps = sorted(mngr.all_steps(), reverse=True)
    if not steps:
      raise FileNotFoundError(f"no checkpoint in {path}")
    # Moved aside so that training can save those steps again.
    used, out, damaged = _newest_intact(steps, lambda s: _restore(mngr, s, abstract, optional),
                                        path,
                                        "resuming from",
                                        set_aside=lambda s: self._set_aside(which, s))
    if used is not None:
      if damaged:
        mngr.reload()
        if which == "last":  # training redoes the steps after `used`: their best/ copies
          self._set_aside_best_after(used)  # would block saving those steps again
      return out
    raise CheckpointError(
        f"no intact checkpoint in {path}: " + "; ".join(f"step {d}: {why}" for d, why in damaged),
        f"Move {self.directory} aside to train the stage from its start.")

  def _set_aside_best_after(self, step: int) -> None:
    """Moves the best/ checkpoints of steps after `step` aside (to `damaged/best-<s>`)."""
    later = [s for s in self._best.all_steps() if s > step]
    for s in later:
      self._set_aside("best", s)
    if later:
      self._best.reload()

  def _set_aside(self, which: str, step: int) -> str:
    """Moves the step folder to `<dir>/damaged/<which>-<step>[.n]`; returns the new path."""
    src = os.path.join(self.directory, which, str(step))
    base = os.path.join(self.directory, "damaged", f"{which}-{step}")
    dest, n = base, 0
    while os.path.exists(dest):
      n += 1
      dest = f"{base}.{n}"
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.move(src, dest)
    return dest

  def wait(self) -> None:
    """Blocks until asynchronous saves are on disk.

    Raises:
      OutputError: a save failed for lack of space (or permissions); the message names
        the checkpoint still intact.
    """
    try:
      self._last.wait_until_finished()
      self._best.wait_until_finished()
    except Exception as err:  # noqa: BLE001 - translated when it is a write error
      raise self._write_error(err, None) from err

  def close(self) -> None:
    """Waits for the saves and closes; after a reported write error, closes quietly."""
    try:
      if not self._failed:
        self.wait()
    finally:
      for mngr in (self._last, self._best):
        try:
          mngr.close()
        except Exception:  # noqa: BLE001 - the failure was reported once already
          if not self._failed:
            raise

  def _write_error(self, err: Exception, step: int | None) -> Exception:
    """An `OutputError` for a save that failed writing (disk full, read-only, no
    permission), else `err` unchanged."""
    code = write_errno(err)
    if code is None:
      return err
    self._failed = True
    try:  # earlier saves still in flight complete first: the intact step is then on disk
      self._last.wait_until_finished()
    except Exception:  # noqa: BLE001 - the failing save itself
      pass
    try:
      self._last.reload()
      intact = self._last.latest_step()
    except Exception:  # noqa: BLE001 - only for the message
      intact = None
    what = WRITE_ERRNOS[code][0]
    kept = (f"the last good checkpoint (step {intact}) is intact" if intact is not None
            else "no checkpoint of this stage was completed")
    # Saves are asynchronous: the failure may be an earlier step's, noticed at this one.
    at = "" if step is None else f" (noticed saving step {step})"
    return OutputError(f"{what} while saving a checkpoint in {self.directory}{at}; training "
                       f"stopped and {kept}",
                       "Free some space and rerun the same command to resume.",
                       file=self.directory)


def write_errno(err: BaseException) -> int | None:
  """The errno of a failed write inside `err` (its chain, or TensorStore's text
  "[os_error_code='28']" / "No space left on device"), if it is one of
  `srino_jax.errors.WRITE_ERRNOS` (ENOSPC, EDQUOT, EROFS, EACCES, EPERM); else None."""
  seen = set()
  while err is not None and id(err) not in seen:
    seen.add(id(err))
    if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:
      return err.errno
    match = re.search(r"os_error_code='?(\d+)", str(err))
    if match and int(match.group(1)) in WRITE_ERRNOS:
      return int(match.group(1))
    if "No space left on device" in str(err):
      return errno.ENOSPC
    err = err.__cause__ or err.__context__
  return None


def _newest_intact(steps: Sequence[int], read: Callable[[int], Any], path: str, verb: str,
                   set_aside: Callable[[int], str] | None = None
                   ) -> tuple[int | None, Any, list[tuple[int, str]]]:
  """Reads the first step of `steps` (newest first) whose checkpoint is intact.

  Falling back past damaged checkpoints is one warning (RuntimeWarning, attributed to the
  caller of the function that calls this) naming the newest damaged step and the step used.

  Args:
    steps: the candidate steps, newest first.
    read: step -> its restored contents; raises on a damaged checkpoint (Orbax and
      TensorStore raise many kinds: any Exception counts).
    path: the checkpoint folder, named in the warning.
    verb: how the warning names the step used: "resuming from" / "using" (step s).
    set_aside: step -> new path; when given, the damaged steps skipped are moved away with
      it (and the warning names where).

  Returns:
    (step, contents, damaged): the step read and what `read` returned, (None, None, damaged)
    when every step is damaged; damaged is [(step, one-line reason)] of the steps skipped.
  """
  damaged = []
  for s in steps:
    try:
      out = read(s)
    except Exception as err:  # noqa: BLE001 - a damaged checkpoint; try the previous one
      damaged.append((s, summary(err)))
      continue
    if damaged:
      text = (f"checkpoint step {damaged[0][0]} in {path} is damaged ({damaged[0][1]}); "
              f"{verb} step {s}, the newest intact one")
      if set_aside is not None:
        moved = [set_aside(d) for d, _ in damaged]
        text += f". Moved aside, not deleted: {', '.join(moved)}"
      warnings.warn(text, RuntimeWarning, stacklevel=3)
    return s, out, damaged
  return None, None, damaged


def summary(err: BaseException, limit: int = 160) -> str:
  """A one-line, at most `limit` characters, description of a restore failure."""
  text = " ".join(str(err).split()) or type(err).__name__
  text = text.split(" See full TensorStore details")[0]
  return text if len(text) <= limit else text[:limit - 3] + "..."


def _state_tree(mngr: ocp.CheckpointManager, step: int) -> dict:
  """The top-level tree metadata of the state saved at `step` (field -> metadata)."""
  on_disk = mngr.item_metadata(step)["state"]
  return getattr(on_disk, "tree", on_disk) or {}


def _has_field(mngr: ocp.CheckpointManager, step: int, field: str) -> bool:
  """Whether the state of `step` holds a non-empty `field` (True when unreadable: the
  restore that follows reports a damaged checkpoint)."""
  try:
    return _non_empty(_state_tree(mngr, step).get(field))
  except Exception:  # noqa: BLE001 - Orbax raises many kinds for a damaged checkpoint
    return True


def _non_empty(value) -> bool:
  """Whether a field of a checkpoint's tree metadata holds arrays (a non-empty mapping)."""
  return isinstance(value, dict) and bool(value)


def _handlers() -> dict:
  """The items of a checkpoint, named up front so that a fresh manager can read the tree
  metadata of a step before restoring it (`_restore`)."""
  return {"state": ocp.PyTreeCheckpointHandler(), "meta": ocp.JsonCheckpointHandler()}


def _restore(mngr: ocp.CheckpointManager, step: int, abstract: Any,
             optional: Sequence[str] = ()) -> tuple[Any, dict]:
  """(state, meta) of `step`; fields of `optional` that the checkpoint lacks (a checkpoint
  written before they existed) keep the target's values and are listed in
  meta["absent_fields"]; those the target holds as None are not read."""
  absent, skipped = [], []
  if optional:
    tree = _state_tree(mngr, step)
    # Missing, or saved as None (a run without it): nothing to read.
    absent = [f for f in optional if not _non_empty(tree.get(f))]
    skipped = [f for f in optional if f not in absent and getattr(abstract, f, None) is None]
  if absent:  # read as None, returned as the target has them
    target, abstract = abstract, abstract.replace(**{f: None for f in absent})
  state = ocp.args.PyTreeRestore(
      item=abstract, restore_args=ocp.checkpoint_utils.construct_restore_args(abstract),
      partial_restore=bool(absent or skipped))
  out = mngr.restore(step, args=ocp.args.Composite(state=state, meta=ocp.args.JsonRestore()))
  restored = out.state
  if absent:
    restored = restored.replace(**{f: getattr(target, f) for f in absent})
  meta = dict(out.meta)
  if optional:
    meta["absent_fields"] = absent
  return restored, meta


def restore_params(directory: str, template: Any, which: str = "last",
                   step: int | None = None, field: str = "params") -> Any:
  """Reads the parameters (only) of a stage checkpoint saved by `StageCheckpoints`.

  Args:
    directory: the stage's folder (holding last/ and best/).
    template: the parameter tree to read (arrays or `jax.ShapeDtypeStruct`s): its structure,
      shapes and dtypes; a sub-tree (e.g. a few top-level groups) reads only those.
    which: "last" (the latest checkpoint) or "best" (the best by validation).
    step: a particular step of `which` instead of the latest / best.
    field: the state's field to read: "params" (the online weights) or "ema" (the
      exponential moving average of the trained groups, `training.ema`).

  Returns:
    The parameters, a tree like `template` of jax arrays on the default device.

  Raises:
    FileNotFoundError: naming the folder when it holds no checkpoint (or not that step).
    CheckpointError: the checkpoint is damaged or holds other shapes (a damaged latest of
      last/ falls back to the newest intact step, with a warning).
  """
  if which not in ("last", "best"):
    raise ValueError(f"which must be 'last' or 'best', not {which!r}")
  path = os.path.join(os.path.abspath(directory), which)
  if not os.path.isdir(path):
    raise FileNotFoundError(f"no checkpoint in {path}")
  # Never saves: create=False (read_only=True would log four warnings per restore).
  mngr = ocp.CheckpointManager(path, item_handlers=_handlers(),
                               options=ocp.CheckpointManagerOptions(create=False))
  try:
    steps = mngr.all_steps()
    chosen = step
    if step is None and steps:
      # best/ keeps a single checkpoint (max_to_keep=1, kept by score): its latest is the best.
      chosen = mngr.latest_step()
    if chosen is None or chosen not in steps:
      raise FileNotFoundError(f"no checkpoint{'' if step is None else f' at step {step}'} in "
                              f"{path} (steps: {sorted(steps)})")
    if field != "params" and not _has_field(mngr, chosen, field):
      raise CheckpointError(f"the checkpoint in {path} (step {chosen}) holds no '{field}' "
                            "weights", "Use --weights online (the run trained without EMA).")
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    abstract = {field: jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), template)}
    # The latest of last/ falls back to older steps when damaged; a named step or best/ not.
    candidates = ([chosen] if step is not None or which == "best"
                  else sorted(steps, reverse=True))
    args = ocp.args.Composite(state=ocp.args.PyTreeRestore(
        item=abstract, restore_args=ocp.checkpoint_utils.construct_restore_args(abstract),
        partial_restore=True))
    # Read-only: a damaged step is skipped, not moved (training moves it when it resumes).
    used, out, failures = _newest_intact(candidates, lambda s: mngr.restore(s, args=args),
                                         path, "using")
  finally:
    mngr.close()
  if used is not None:
    return out.state[field]
  hint = ("Use --which last, or retrain the stage." if which == "best"
          else "Retrain the stage (or pick another run).")
  why = "; ".join(f"step {s}: {text}" for s, text in failures)
  raise CheckpointError(f"cannot read the checkpoint in {path} ({why})", hint)
