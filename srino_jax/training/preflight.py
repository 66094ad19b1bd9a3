"""Checks before training starts: a start that cannot succeed fails here, creating nothing.

`train.py` calls these before `loop.train`, which writes `<workdir>/config.json` and the
stages' checkpoint and log folders: a bad config field (batch size 0), data that do not
match the sensor, missing data or a workdir of another model are refused with one message
(`srino_jax.errors`) and leave no skeleton workdir (a pre-existing one untouched).

  check_config(config, stages)     UsageError: stage, sensor, model or count fields
  check_data(config)               InputError / MissingInputError: train and valid files
  check_workdir(config, workdir, stages)
                                   CheckpointError: another model's workdir, a stage
                                   inherited from but never trained; OutputError: unwritable
"""

from __future__ import annotations

import json
import os
from typing import Sequence

import ml_collections

from srino_jax import cli
from srino_jax.data.pancollection import PanCollectionFile
from srino_jax.data.pipeline import TrainBatches
from srino_jax.errors import CheckpointError, OutputError, UsageError
from srino_jax.training import datasets
from srino_jax.training import run as runs
from srino_jax.training.stages import get_stage

__all__ = ["check_config", "check_data", "check_workdir"]

ConfigDict = ml_collections.ConfigDict

# Count fields of config.train that must be >= 1 (the stage step counts may be 0).
_POSITIVE = ("batch_size", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
             "eval_examples")


def check_config(config: ConfigDict, stages: Sequence[str]) -> None:
  """Refuses unknown stages, an unknown sensor, a bad model field and counts < 1.

  Raises:
    UsageError: naming the field (`--config.<field>`) and its value.
  """
  try:
    for stage in stages:
      runs.stage_steps(config, stage)  # also checks the stage is registered
    runs.model_config(config)
  except ValueError as err:
    raise UsageError(str(err), "Fix the config file or its --config.* override.") from None
  bad = [(f"train.{f}", config.train[f]) for f in _POSITIVE
         if f in config.train and int(config.train[f]) < 1]
  bad += [(f"train.{get_stage(s).name}_steps", runs.stage_steps(config, s)) for s in stages
          if runs.stage_steps(config, s) < 0]
  if int(config.data.patch_size) < 1:
    bad.append(("data.patch_size", config.data.patch_size))
  if bad:
    name, value = bad[0]
    raise UsageError(f"--config.{name} must be >= {0 if name.endswith('_steps') else 1}, got "
                     f"{value}", f"Set --config.{name} to a positive number.")


def check_data(config: ConfigDict) -> None:
  """Opens the training and validation files as the loop will (sensor, keys, shapes, batch
  and patch size), reading no examples.

  Raises:
    MissingInputError / InputError: naming the file and the problem.
  """
  needed = datasets.needed_files(config)
  if "train" in needed:
    train = runs.data_path(config, "train")
    with cli.reading(train):
      with TrainBatches(train, config.sensor, config.train.batch_size,
                        patch_size=config.data.patch_size, seed=config.seed):
        pass
  else:  # the sources: real scenes are read (and Wald-reduced) when training starts
    with cli.reading(config.data.get("realdata", config.data.root)):
      datasets.check_sources(config)
  if "valid" in needed:
    valid = runs.data_path(config, "valid")
    with cli.reading(valid):
      with PanCollectionFile(valid, config.sensor):
        pass


def check_workdir(config: ConfigDict, workdir: str, stages: Sequence[str]) -> None:
  """Refuses a workdir the run cannot use, before anything is written in it.

  Raises:
    CheckpointError: its config.json holds another sensor / model / diffusion config, or a
      stage to train inherits from a stage that has no checkpoint there (nor is trained
      first in this run).
    OutputError: the workdir is a file, or cannot be written.
  """
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise OutputError(f"--workdir {workdir} is a file, not a folder",
                      "Give a folder for the run.", file=workdir)
  cli.check_writable(os.path.join(workdir, "config.json"), overwrite=True)
  saved = os.path.join(workdir, "config.json")
  if os.path.exists(saved):
    try:
      with open(saved, encoding="utf-8") as f:
        old = json.load(f)
    except (OSError, ValueError) as err:
      raise CheckpointError(f"{saved} cannot be read ({err})",
                            "Use a new --workdir, or restore the file.") from None
    new = config.to_dict()
    for field in runs.MODEL_FIELDS:
      if old.get(field) != new[field]:
        raise CheckpointError(
            f"--workdir {workdir} holds a run trained with another '{field}' config "
            f"({_difference(old.get(field), new[field])})",
            "Use a new --workdir, or the run's own config.")
  for i, stage in enumerate(stages):
    for source in get_stage(stage).inherits:
      if source in stages[:i]:
        continue
      if not os.path.isdir(os.path.join(runs.stage_dir(workdir, source), "last")):
        raise CheckpointError(
            f"stage {stage} starts from the trained {source} stage, which has no checkpoint "
            f"in {os.path.abspath(runs.stage_dir(workdir, source))}",
            f"Train it first (--stage {source}), or use --stage all.")


def _difference(old, new) -> str:
  """The first differing field of two config groups, as "key: old vs new"."""
  if isinstance(old, dict) and isinstance(new, dict):
    for key in sorted(set(old) | set(new)):
      if old.get(key) != new.get(key):
        return f"{key}: {old.get(key)!r} there, {new.get(key)!r} now"
  return f"{old!r} there, {new!r} now"
