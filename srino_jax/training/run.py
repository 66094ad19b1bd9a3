"""A run: one frozen object that every entry point builds once and passes down.

  run = Run.from_config(config, workdir)      train.py, demo.py (a config file + overrides)
  run = Run.load(workdir_or_checkpoint)       sample.py, the scene tool, validation of a run

It holds the locked ConfigDict (the only place the recipe's numbers live), the `ModelConfig`
built from it (here, once), the parsed training sources, the held-out block, the sampling
settings, the paths, and reads the parameters of its stage checkpoints (`run.params`).
Below `training/` nothing sees the ConfigDict: the math gets the ModelConfig and arrays.

A workdir holds (`training.workdir`: its config.json, format versions, lock):

  <workdir>/config.json                 the run's config (`Run.save`)
  <workdir>/checkpoints/<stage>/        `srino_jax.checkpoints.StageCheckpoints`
  <workdir>/logs/<stage>/               TensorBoard events and metrics.jsonl

Random streams. Every stream is `fold_in(key(seed), id)` with a fixed id: a stage's own
`Stage.stream` for its training keys, `VALIDATION_STREAM` for validation. Runs of format
version 1 (a config.json without `version`, before issue 15) drew validation from
`PRNGKey(seed + 1_000_003)`; they keep that stream, so resuming them stays exact.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import pathlib
from typing import Any

import jax
import ml_collections

from srino_jax import checkpoints, sensors
from srino_jax.data.holdout import HoldOut
from srino_jax.diffusion import Diffusion
from srino_jax.model import ModelConfig
from srino_jax.training.ema import EmaSettings
from srino_jax.training.sources import Source, parse_sources
from srino_jax.training import workdir as workdirs
from srino_jax.training.stages import SRINO_STAGES, get_stage
from srino_jax.training.workdir import RUN_VERSION

__all__ = ["Run", "Sampling", "RUN_VERSION", "VALIDATION_STREAM", "model_config",
           "DEFAULT_STAGE", "WHICH", "WEIGHTS"]

# The id of the validation stream (stage streams are 1..5: see `training.stages`).
VALIDATION_STREAM = 1000
# The stage whose parameters fuse scenes unless told otherwise: SRINO's last stage.
DEFAULT_STAGE = SRINO_STAGES[-1]
# Which checkpoint of a stage: the best by validation, or the latest.
WHICH = ("best", "last")
# Which weights of a checkpoint: the exponential moving average, or the optimizer's own.
WEIGHTS = ("ema", "online")

ConfigDict = ml_collections.ConfigDict


@dataclasses.dataclass(frozen=True)
class Sampling:
  """How the run samples unless told otherwise (config.diffusion).

  Attributes:
    steps: DDIM steps.
    eta: DDIM stochasticity (0 = deterministic given x_T).
    num_samples: K samples per scene; the fusion is their mean.
  """

  steps: int
  eta: float
  num_samples: int = 1


def model_config(config: ConfigDict) -> ModelConfig:
  """The `ModelConfig` of a run's config: config.model, config.diffusion's schedule and
  residual scale, the bands of config.sensor. Called by `Run.from_config` (once per run).

  Raises:
    ValueError: unknown sensor, unknown or invalid model field (named).
  """
  bands = sensors.get_sensor(config.sensor).bands  # raises, listing the known sensors
  fields = config.model.to_dict()
  d = config.diffusion
  try:
    diffusion = Diffusion(d.num_train_steps, d.schedule_s, d.residual_scale)
    return ModelConfig(bands=bands, sensor=config.sensor, diffusion=diffusion, **fields)
  except TypeError as err:  # a missing or unknown field of config.model
    raise ValueError(f"config.model does not describe a model ({err}); fields given: "
                     f"{sorted(fields)}") from None


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
  """A training run as every command sees it (build with `from_config` or `load`).

  Attributes:
    config: the locked ConfigDict.
    workdir: the run folder ("" for a run not on disk).
    model: the `ModelConfig` (built once, from config).
    sources: the parsed training sources (empty: train on `config.data.train`).
    holdout: the block of each real scene that never enters training.
    sampling: the default DDIM settings.
    ema: the EMA of the trained weights (config.train.ema_decay / ema_start), None without.
    version: the run format (`RUN_VERSION` for new runs).
    stage: the stage whose parameters fuse (`Run.load` takes it from a checkpoint path).
    which: "best" or "last": the checkpoint `params` reads by default.
    step: a particular step of `which` (a step folder given to `Run.load`), else None.
    weights: "ema" or "online": the weights `params` reads by default (a command's
      --weights, else config.diffusion.sample_weights; None = "auto": the EMA when the run
      keeps one, else the online weights).
  """

  config: ConfigDict
  workdir: str
  model: ModelConfig
  sources: tuple[Source, ...]
  holdout: HoldOut
  sampling: Sampling
  ema: EmaSettings | None
  version: int
  stage: str = DEFAULT_STAGE
  which: str = "best"
  step: int | None = None
  weights: str | None = None

  @classmethod
  def from_config(cls, config: ConfigDict, workdir: str = "") -> "Run":
    """The run of a config (each field read once here).

    Raises:
      ValueError: an unknown sensor, a bad model, diffusion, hold-out or source field.
    """
    config = copy.deepcopy(config)
    saved = workdirs.saved_version(workdir)
    if saved is not None:  # a run keeps the format (the random streams) it was created with
      config.version = saved
    return cls._build(config, workdir)

  @classmethod
  def _build(cls, config: ConfigDict, workdir: str) -> "Run":
    """The run of `config` as it stands (locked here); every field read once."""
    config.lock()
    d = config.data
    return cls(config=config, workdir=str(workdir), model=model_config(config),
               sources=parse_sources(d.sources, d.realdata),
               holdout=HoldOut(float(d.holdout), d.holdout_side, float(d.holdout_test)),
               sampling=Sampling(int(config.diffusion.sample_steps),
                                 float(config.diffusion.eta),
                                 int(config.diffusion.num_samples)),
               ema=(EmaSettings(float(config.train.ema_decay), int(config.train.ema_start))
                    if float(config.train.ema_decay) != 0.0 else None),
               version=int(config.version),
               weights=_config_weights(config.diffusion.sample_weights))

  @classmethod
  def load(cls, path: str, which: str | None = None, stage: str | None = None,
           weights: str | None = None) -> "Run":
    """The run holding `path`: a run folder, one of its stage folders, or a step folder
    (`<run>/checkpoints/<stage>/{last,best}/<step>`, which picks stage, which and step).

    Args:
      path: the folder.
      which: "best" or "last" (default "best"; a step folder's own kind always wins).
      stage: the stage that fuses (default: the checkpoint path's, else stage2).
      weights: "ema" or "online" (default: the EMA when the run keeps one).

    Raises:
      FileNotFoundError: no such path, or no config.json in it or its parents.
      ValueError: an unreadable config.json, or one that does not describe a run.
    """
    where = pathlib.Path(path).resolve()
    if not where.exists():
      raise FileNotFoundError(f"{where} does not exist")
    root = next((f for f in (where, *where.parents) if (f / "config.json").is_file()), None)
    if root is None:
      raise FileNotFoundError(f"no config.json in {where} or its parents: not a srino-jax run")
    parts = where.relative_to(root).parts  # ("checkpoints", stage, which, step)
    step = int(where.name) if len(parts) == 4 and where.name.isdigit() else None
    if stage is None and len(parts) >= 2 and parts[0] == "checkpoints":
      stage = parts[1]
    if step is not None:  # a step folder names its own checkpoint kind
      which = parts[2]
    which = which or "best"
    # Its own config.json, read once (its version is the run's: no second read for it).
    run = cls._build(workdirs.read_config(str(root / "config.json")), str(root))
    return dataclasses.replace(run, stage=get_stage(stage or DEFAULT_STAGE).name,
                               which=_check_which(which), step=step,
                               weights=_check_weights(weights) or run.weights)

  # -- what the run is -------------------------------------------------------------------
  @property
  def sensor(self) -> sensors.Sensor:
    """The sensor the model was trained for (its band count; the table's maximum)."""
    return sensors.get_sensor(self.config.sensor)

  def with_stage(self, stage: str) -> "Run":
    """This run fusing with another stage's parameters (e.g. a learned baseline)."""
    return dataclasses.replace(self, stage=get_stage(stage).name, step=None)

  def stage_steps(self, stage: str) -> int:
    """Steps of `stage` to train: the config field `train.<stage>_steps`."""
    field = f"{get_stage(stage).name}_steps"
    if field not in self.config.train:
      raise ValueError(f"config.train.{field} is missing: how many steps should stage "
                       f"{stage!r} train?")
    return int(self.config.train[field])

  def data_path(self, name: str) -> str:
    """Path of the data file named by `config.data.<name>` (train, valid, test, test_full)."""
    return os.path.join(self.config.data.root, self.config.data[name])

  # -- random streams --------------------------------------------------------------------
  def root_key(self) -> jax.Array:
    return jax.random.key(self.config.seed)

  def stage_key(self, stage: str) -> jax.Array:
    """The training key of `stage`; step i uses fold_in(it, i)."""
    return jax.random.fold_in(self.root_key(), get_stage(stage).stream)

  def validation_key(self) -> jax.Array:
    """The key of the fixed validation timesteps and noise (chunk i: fold_in(it, i))."""
    if self.version < 2:  # the stream runs of format 1 validated with
      return jax.random.key(self.config.seed + 1_000_003)
    return jax.random.fold_in(self.root_key(), VALIDATION_STREAM)

  # -- the folder ------------------------------------------------------------------------
  def stage_dir(self, stage: str) -> str:
    """`<workdir>/checkpoints/<stage>`."""
    return os.path.join(self.workdir, "checkpoints", get_stage(stage).name)

  def has_checkpoint(self, stage: str) -> bool:
    return bool(self.workdir) and os.path.isdir(os.path.join(self.stage_dir(stage), "last"))

  def check_compatible(self, workdir: str | None = None) -> None:
    """Refuses a workdir whose config.json describes another model (the one check,
    `training.workdir.check_compatible`).

    Raises:
      ValueError: naming the field ("sensor", "model" or "diffusion") and how it differs;
        or an unreadable config.json.
    """
    workdirs.check_compatible(workdir or self.workdir, self.config.to_dict())

  def lock(self):
    """`training.workdir.lock`: one training process per workdir.

    Raises:
      OutputError: another process holds it (its pid named).
    """
    return workdirs.lock(self.workdir)

  def save(self) -> None:
    """Writes `<workdir>/config.json`, after `check_compatible`."""
    self.check_compatible()
    workdirs.write_config(self.workdir, self.config.to_dict())

  # -- parameters ------------------------------------------------------------------------
  def param_template(self, stage: str) -> Any:
    """Shapes and dtypes (`jax.ShapeDtypeStruct`s) of `stage`'s parameters, computing none."""
    init = get_stage(stage).init
    return jax.eval_shape(lambda key: init(self.model, key, self.config.data.patch_size),
                          self.root_key())

  def init_params(self, stage: str) -> Any:
    """Fresh parameters of `stage` (every stage initialises from the run's root key)."""
    return get_stage(stage).init(self.model, self.root_key(), self.config.data.patch_size)

  @property
  def default_weights(self) -> str:
    """The weights read unless told otherwise: `weights`, else the EMA when there is one."""
    return self.weights or ("ema" if self.ema is not None else "online")

  def params(self, stage: str | None = None, which: str | None = None, step: int | None = None,
             groups: tuple[str, ...] | None = None, weights: str | None = None) -> Any:
    """The parameters a finished (or interrupted) stage left in the workdir.

    Args:
      stage: the stage to read (default: `self.stage`).
      which: "best" (by validation) or "last" (default: `self.which`).
      step: a particular step of `which` (default: `self.step` when reading `self.stage`).
      groups: read only these top-level groups (default: all).
      weights: "ema" (the EMA of the stage's trained groups over its online tree) or
        "online" (default: `default_weights`).

    Raises:
      FileNotFoundError: naming the stage to train first when it has no checkpoint.
      CheckpointError: a damaged checkpoint, or EMA weights asked of a checkpoint without
        them (`checkpoints.restore_params`).
    """
    stage = get_stage(stage or self.stage).name
    which = _check_which(which or self.which)
    weights = _check_weights(weights or self.default_weights)
    if step is None and stage == self.stage:
      step = self.step
    template = self.param_template(stage)
    if groups is not None:
      template = {g: template[g] for g in groups}
    if not self.has_checkpoint(stage):
      raise FileNotFoundError(f"no {stage} checkpoint in {os.path.abspath(self.stage_dir(stage))}"
                              f": train it first (python train.py ... --stage {stage})")
    folder = self.stage_dir(stage)
    averaged = [g for g in get_stage(stage).trains if g in template] if weights == "ema" else []
    online = {g: t for g, t in template.items() if g not in averaged}
    params = (checkpoints.restore_params(folder, online, which=which, step=step)
              if online else {})
    if averaged:
      params.update(checkpoints.restore_params(folder, {g: template[g] for g in averaged},
                                               which=which, step=step, field="ema"))
    return {g: params[g] for g in template}


def _config_weights(value: str) -> str | None:
  if value == "auto":
    return None
  if value not in WEIGHTS:
    raise ValueError(f"config.diffusion.sample_weights must be auto, ema or online, not "
                     f"{value!r}")
  return value


def _check_weights(weights: str | None) -> str | None:
  if weights is not None and weights not in WEIGHTS:
    raise ValueError(f"weights must be one of {WEIGHTS}, not {weights!r}")
  return weights


def _check_which(which: str) -> str:
  if which not in WHICH:
    raise ValueError(f"which must be one of {WHICH}, not {which!r}")
  return which


