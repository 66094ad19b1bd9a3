"""A run: its config (an `ml_collections.ConfigDict` from `configs/*.py`), and its workdir.

The ConfigDict is the only place the recipe's numbers live. It travels as far as the
training loop (as Flax's `train_and_evaluate(config)`); the math below gets plain arguments
or the frozen `ModelConfig`, which `model_config` builds (the only place one is built from a
config). A workdir holds:

  <workdir>/config.json                 the run's config (refuses another model's workdir)
  <workdir>/checkpoints/<stage>/        `srino_jax.checkpoints.StageCheckpoints`
  <workdir>/logs/<stage>/               TensorBoard events and metrics.jsonl
"""

from __future__ import annotations

import json
import os
from typing import Any

import jax
import ml_collections

from srino_jax import checkpoints, sensors
from srino_jax.atomic import write_text_atomic
from srino_jax.model import ModelConfig
from srino_jax.training.stages import get_stage

__all__ = ["MODEL_FIELDS", "model_config", "data_path", "stage_steps", "save_run_config",
           "read_run_config",
           "stage_dir", "stage_params", "param_template"]

# Fields a workdir's config.json must agree on to be resumed or sampled (they fix the
# parameter shapes and what the parameters mean).
MODEL_FIELDS = ("sensor", "model", "diffusion")
_MODEL_FIELDS = MODEL_FIELDS


def model_config(config: ml_collections.ConfigDict) -> ModelConfig:
  """The run's `ModelConfig`: config.model, the diffusion schedule, bands of config.sensor.

  Raises:
    ValueError: unknown sensor, unknown or invalid model field (named).
  """
  bands = sensors.get_sensor(config.sensor).bands  # raises, listing the known sensors
  fields = config.model.to_dict()
  try:
    return ModelConfig(bands=bands, sensor=config.sensor,
                       num_train_steps=config.diffusion.num_train_steps,
                       schedule_s=config.diffusion.schedule_s, **fields)
  except TypeError as err:  # a missing or unknown field of config.model
    raise ValueError(f"config.model does not describe a model ({err}); fields given: "
                     f"{sorted(fields)}") from None


def data_path(config: ml_collections.ConfigDict, name: str) -> str:
  """Path of the data file named by `config.data.<name>` (train, valid, test, test_full)."""
  return os.path.join(config.data.root, config.data[name])


def stage_steps(config: ml_collections.ConfigDict, stage: str) -> int:
  """Steps of `stage` to train: the config field `train.<stage>_steps`."""
  field = f"{get_stage(stage).name}_steps"
  if field not in config.train:
    raise ValueError(f"config.train.{field} is missing: how many steps should stage "
                     f"{stage!r} train?")
  return int(config.train[field])


def save_run_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Writes `<workdir>/config.json`; refuses a workdir trained with another model or sensor.

  Raises:
    ValueError: naming the field ("sensor", "model" or "diffusion") that differs.
  """
  path = os.path.join(workdir, "config.json")
  new = config.to_dict()
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      old = json.load(f)
    for field in _MODEL_FIELDS:
      if old.get(field) != new[field]:
        raise ValueError(f"{workdir} holds a run with another '{field}' config "
                         f"({old.get(field)} vs {new[field]}): use a new --workdir")
  write_text_atomic(path, json.dumps(new, indent=2, sort_keys=True))


def read_run_config(path: str) -> ml_collections.ConfigDict:
  """A saved run's config.json as a (locked) ConfigDict.

  Raises:
    ValueError: naming the file when it is not JSON or lacks a field the run needs.
  """
  try:
    with open(path, encoding="utf-8") as f:
      config = ml_collections.ConfigDict(json.load(f))
  except json.JSONDecodeError as err:
    raise ValueError(f"{path}: not a JSON run config ({err})") from None
  missing = [f for f in (*_MODEL_FIELDS, "seed", "data") if f not in config]
  if missing:
    raise ValueError(f"{path}: run config without the field(s) {missing}")
  config.lock()
  return config


def stage_dir(workdir: str, stage: str) -> str:
  """`<workdir>/checkpoints/<stage>`."""
  return os.path.join(workdir, "checkpoints", get_stage(stage).name)


def param_template(config: ml_collections.ConfigDict, stage: str) -> Any:
  """Shapes and dtypes (`jax.ShapeDtypeStruct`s) of `stage`'s parameters, without computing
  them: what its `init` would return for this config."""
  init = get_stage(stage).init
  return jax.eval_shape(lambda key: init(model_config(config), key, config.data.patch_size),
                        jax.random.PRNGKey(config.seed))


def stage_params(config: ml_collections.ConfigDict, workdir: str, stage: str,
                 which: str = "last", step: int | None = None,
                 groups: tuple[str, ...] | None = None) -> Any:
  """The parameters a finished (or interrupted) stage left in `workdir`.

  Args:
    config: the run's config (the parameter shapes follow from it).
    workdir: the run folder.
    stage: the stage to read.
    which: "last" (the latest checkpoint) or "best" (the best by validation).
    step: a particular step of `which` instead of the latest / best.
    groups: read only these top-level groups (default: all).

  Raises:
    FileNotFoundError: naming the stage to train first when it has no checkpoint.
  """
  template = param_template(config, stage)
  if groups is not None:
    template = {g: template[g] for g in groups}
  directory = stage_dir(workdir, stage)
  if not os.path.isdir(os.path.join(directory, "last")):
    raise FileNotFoundError(f"no {stage} checkpoint in {os.path.abspath(directory)}: train "
                            f"it first (python train.py ... --stage {stage})")
  return checkpoints.restore_params(directory, template, which=which, step=step)
