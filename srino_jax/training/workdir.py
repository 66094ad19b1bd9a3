"""A run's folder on disk: its config.json (format versions, upgrade, the compatibility
check) and the lock that keeps one training process per folder. `training.run.Run` is built
on these; nothing here builds a model.

  <workdir>/config.json     the run's config, written by `write_config`, read (any version,
                            upgraded) by `read_config`
  <workdir>/.train.lock     held by the training process (`lock`)
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
from typing import Iterator

import ml_collections

from srino_jax.atomic import write_text_atomic
from srino_jax.errors import OutputError

__all__ = ["RUN_VERSION", "MODEL_FIELDS", "DIFFUSION_MODEL_FIELDS", "upgrade_config",
           "read_config", "read_json", "saved_version", "check_compatible", "write_config",
           "lock"]

# The run format written by this code (config.json's `version`).
RUN_VERSION = 2
# Fields a workdir's config.json must agree on to be resumed or sampled (they fix the
# parameter shapes and what the parameters mean); of `diffusion` only the process itself,
# not how it is sampled (steps, eta, K, weights may change between commands).
MODEL_FIELDS = ("sensor", "model", "diffusion")
DIFFUSION_MODEL_FIELDS = ("num_train_steps", "schedule_s", "residual_scale")


def upgrade_config(raw: dict) -> dict:
  """A saved config.json of any version in the current layout (a new dict).

  Version 1 (no `version` field): `residual_scale` lived in `model` (1.0 when absent, as
  before it existed); the fields of the training sources, the EMA and the validation/test
  split, added later, take the values the code of that time assumed (none of them). Any
  version: sampling settings added since (K, the weights that fuse) take the defaults that
  reproduce how it sampled.
  """
  raw = copy.deepcopy(raw)
  diffusion = raw.setdefault("diffusion", {})
  diffusion.setdefault("num_samples", 1)
  diffusion.setdefault("sample_weights", "auto")
  if "version" in raw:
    return raw
  raw["version"] = 1
  model = raw.setdefault("model", {})
  diffusion.setdefault("residual_scale", model.pop("residual_scale", 1.0))
  data = raw.setdefault("data", {})
  for field, value in (("sources", {}), ("realdata", "../shared/realdata"), ("holdout", 0.0),
                       ("holdout_side", "bottom"), ("augment", False),
                       ("holdout_test", 0.0)):  # version 1 validated on the whole block
    data.setdefault(field, value)
  train = raw.setdefault("train", {})
  train.setdefault("baselines", "")
  train.setdefault("ema_decay", 0.0)  # no EMA before issue 16
  train.setdefault("ema_start", 0)
  return raw


def read_config(path: str) -> ml_collections.ConfigDict:
  """A saved run's config.json (any version, upgraded) as a locked ml_collections.ConfigDict.

  Raises:
    ValueError: naming the file when it is not JSON or lacks a field the run needs.
  """
  raw = upgrade_config(read_json(path))
  missing = [f for f in (*MODEL_FIELDS, "seed", "data") if f not in raw]
  if missing:
    raise ValueError(f"{path}: run config without the field(s) {missing}")
  config = ml_collections.ConfigDict(raw)
  config.lock()
  return config


def _model_part(raw: dict) -> dict:
  """The MODEL_FIELDS of a config dict (diffusion: its DIFFUSION_MODEL_FIELDS only)."""
  part = {f: raw.get(f) for f in MODEL_FIELDS}
  if isinstance(part["diffusion"], dict):
    part["diffusion"] = {k: v for k, v in part["diffusion"].items()
                         if k in DIFFUSION_MODEL_FIELDS}
  return part


def read_json(path: str) -> dict:
  """A config.json as a dict.

  Raises:
    ValueError: naming the file when it is unreadable, not JSON or not an object.
  """
  try:
    with open(path, encoding="utf-8") as f:
      raw = json.load(f)
  except json.JSONDecodeError as err:
    raise ValueError(f"{path}: not a JSON run config ({err})") from None
  except OSError as err:
    raise ValueError(f"{path} cannot be read ({err})") from None
  if not isinstance(raw, dict):
    raise ValueError(f"{path}: not a run config (a JSON {type(raw).__name__})")
  return raw


def saved_version(workdir: str) -> int | None:
  """The format version of the run already in `workdir`, None when there is none (or its
  config.json cannot be read: `check_compatible` reports that)."""
  path = os.path.join(workdir, "config.json") if workdir else ""
  if not path or not os.path.isfile(path):
    return None
  try:
    return int(upgrade_config(read_json(path))["version"])
  except (ValueError, TypeError, KeyError):
    return None


def check_compatible(workdir: str, config: dict) -> None:
  """Refuses a workdir whose config.json describes another model than `config` (a config
  dict); nothing to check when the folder has no config.json.

  Raises:
    ValueError: naming the field ("sensor", "model" or "diffusion") and how it differs;
      or an unreadable config.json.
  """
  path = os.path.join(workdir, "config.json")
  if not os.path.exists(path):
    return
  old, new = (_model_part(c) for c in (upgrade_config(read_json(path)), config))
  for field in MODEL_FIELDS:
    if old.get(field) != new[field]:
      raise ValueError(f"{workdir} holds a run trained with another '{field}' config "
                       f"({_difference(old.get(field), new[field])})")


def write_config(workdir: str, config: dict) -> None:
  """Writes `<workdir>/config.json` (atomically)."""
  write_text_atomic(os.path.join(workdir, "config.json"),
                    json.dumps(config, indent=2, sort_keys=True))


@contextlib.contextmanager
def lock(workdir: str) -> Iterator[None]:
  """Holds `<workdir>/.train.lock` for the block: one training process per workdir (a
  second would interleave checkpoints and logs). Released when the process ends, however.

  Raises:
    OutputError: another process holds it (its pid named).
  """
  os.makedirs(workdir, exist_ok=True)
  path = os.path.join(workdir, ".train.lock")
  with open(path, "a+", encoding="utf-8") as f:
    try:
      fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      f.seek(0)
      holder = f.read().strip() or "?"
      raise OutputError(f"{workdir} is being trained by another process (pid {holder})",
                        "Wait for it to finish, or train in another --workdir.",
                        file=workdir) from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    try:
      yield
    finally:
      fcntl.flock(f, fcntl.LOCK_UN)


def _difference(old, new) -> str:
  """The first differing field of two config groups, as "key: old vs new"."""
  if isinstance(old, dict) and isinstance(new, dict):
    for key in sorted(set(old) | set(new)):
      if old.get(key) != new.get(key):
        return f"{key}: {old.get(key)!r} there, {new.get(key)!r} now"
  return f"{old!r} there, {new!r} now"
