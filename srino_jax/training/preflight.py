"""Checks before training starts: a start that cannot succeed fails here, creating nothing.

`train.py` calls these before `loop.train`, which writes `<workdir>/config.json` and the
stages' checkpoint and log folders: a bad config field (batch size 0), data that do not
match the sensor, missing data or a workdir of another model are refused with one message
(`srino_jax.errors`) and leave no skeleton workdir (a pre-existing one untouched).

  make_run(config, workdir)        UsageError: sensor, model, diffusion, source fields
  check_config(run, stages)        UsageError: stage or count fields
  check_data(run)                  InputError / MissingInputError: train and valid files
  check_workdir(run, stages)       CheckpointError: another model's workdir, a stage
                                   inherited from but never trained; OutputError: unwritable
"""

from __future__ import annotations

import math
import os
from typing import Sequence

import ml_collections

from srino_jax import cli
from srino_jax.data.pancollection import PanCollectionFile
from srino_jax.data.pipeline import TrainBatches
from srino_jax.errors import CheckpointError, OutputError, UsageError
from srino_jax.training import datasets
from srino_jax.training.run import Run
from srino_jax.training.stages import get_stage

__all__ = ["make_run", "check_config", "check_data", "check_workdir"]

_FIX = "Fix the config file or its --config.* override."


def make_run(config: ml_collections.ConfigDict, workdir: str) -> Run:
  """`Run.from_config`, its config errors as usage errors (exit 2).

  Raises:
    UsageError: an unknown sensor, a bad model / diffusion / hold-out / source field.
  """
  try:
    return Run.from_config(config, workdir)
  except ValueError as err:
    raise UsageError(str(err), _FIX) from None

# Count fields of config.train that must be >= 1 (the stage step counts may be 0).
_POSITIVE = ("batch_size", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
             "eval_examples")


def check_config(run: Run, stages: Sequence[str]) -> None:
  """Refuses unknown stages and counts < 1.

  Raises:
    UsageError: naming the field (`--config.<field>`) and its value.
  """
  config = run.config
  try:
    steps = {get_stage(s).name: run.stage_steps(s) for s in stages}  # registered, counted
  except ValueError as err:
    raise UsageError(str(err), _FIX) from None
  bad = [(f"train.{f}", config.train[f], 1) for f in _POSITIVE
         if f in config.train and int(config.train[f]) < 1]
  bad += [(f"train.{s}_steps", n, 0) for s, n in steps.items() if n < 0]
  if int(config.data.patch_size) < 1:
    bad.append(("data.patch_size", config.data.patch_size, 1))
  ratio = run.sensor.ratio
  if int(config.data.patch_size) >= 1 and int(config.data.patch_size) % ratio:
    # The pipeline cuts patches of whole MS pixels (`data.pipeline.training_patch_size`):
    # a flag error, said as one before any file is opened.
    size = max(ratio, int(config.data.patch_size) // ratio * ratio)
    raise UsageError(f"--config.data.patch_size must be a multiple of the ratio {ratio}, got "
                     f"{config.data.patch_size}", f"Set --config.data.patch_size to e.g. {size}.")
  bad += [(f"diffusion.{f}", config.diffusion[f], 1) for f in ("sample_steps", "num_samples")
          if int(config.diffusion[f]) < 1]
  if bad:
    name, value, least = bad[0]
    raise UsageError(f"--config.{name} must be >= {least}, got {value}",
                     f"Set --config.{name} to a positive number.")
  # Numbers that train to a NaN (or a useless run) if they are not what they must be.
  ranges = [("optim.learning_rate", config.optim.learning_rate, "a finite number > 0",
             lambda v: math.isfinite(v) and v > 0),
            ("diffusion.eta", config.diffusion.eta, "a finite number >= 0",
             lambda v: math.isfinite(v) and v >= 0),
            ("optim.decay_factor", config.optim.decay_factor, "in (0, 1]",
             lambda v: 0 < v <= 1),
            ("optim.grad_clip", config.optim.grad_clip, "a finite number >= 0 (0 = off)",
             lambda v: math.isfinite(v) and v >= 0)]
  for name, value, what, ok in ranges:
    if not ok(float(value)):
      raise UsageError(f"--config.{name} must be {what}, got {value}",
                       f"Set --config.{name} to {what}.")


def check_data(run: Run) -> None:
  """Opens the training and validation files as the loop will (sensor, keys, shapes, batch
  and patch size), reading no examples.

  Raises:
    MissingInputError / InputError: naming the file and the problem.
  """
  config = run.config
  needed = datasets.needed_files(run)
  if "train" in needed:
    train = run.data_path("train")
    with cli.reading(train):
      with TrainBatches(train, config.sensor, config.train.batch_size,
                        patch_size=config.data.patch_size, seed=config.seed):
        pass
  else:  # the sources: real scenes are read (and Wald-reduced) when training starts
    with cli.reading(config.data.realdata):
      datasets.check_sources(run)
  if "valid" in needed:
    valid = run.data_path("valid")
    with cli.reading(valid):
      with PanCollectionFile(valid, config.sensor):
        pass


def check_workdir(run: Run, stages: Sequence[str]) -> None:
  """Refuses a workdir the run cannot use, before anything is written in it.

  Raises:
    CheckpointError: its config.json is unreadable or holds another sensor / model /
      diffusion config (`Run.check_compatible`), or a stage to train inherits from a stage
      that has no checkpoint there (nor is trained first in this run).
    OutputError: the workdir is a file, or cannot be written.
  """
  workdir = run.workdir
  if os.path.exists(workdir) and not os.path.isdir(workdir):
    raise OutputError(f"--workdir {workdir} is a file, not a folder",
                      "Give a folder for the run.", file=workdir)
  cli.check_writable(os.path.join(workdir, "config.json"), overwrite=True)
  try:
    run.check_compatible()
  except ValueError as err:
    raise CheckpointError(f"--workdir {err}", "Use a new --workdir, or the run's own config.") \
        from None
  for i, stage in enumerate(stages):
    for source in get_stage(stage).inherits:
      if source in stages[:i]:
        continue
      if not run.has_checkpoint(source):
        raise CheckpointError(
            f"stage {stage} starts from the trained {source} stage, which has no checkpoint "
            f"in {os.path.abspath(run.stage_dir(source))}",
            f"Train it first (--stage {source}), or use --stage all.")
