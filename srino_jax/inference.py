"""Fusing scenes with a trained model: load a run, read inputs, sample, write outputs.

`sample.py` is a thin command line over these functions; the demo uses them too. Nothing
here imports the training loop: a run is its config.json (`training.run`) and the
parameters of one stage checkpoint (`srino_jax.checkpoints`); the stage's record
(`training.stages`) says how to fuse with them.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import tqdm

from srino_jax import cli, sensors
from srino_jax.data.pancollection import read_pancollection
from srino_jax.data.products import full_scene, read_mat_scene, reduce_scene, scene_sensor
from srino_jax.metrics import evaluate_methods
from srino_jax.model import ModelConfig
from srino_jax.training import run as runs
from srino_jax.training.stages import LEARNED_STAGES, get_stage

__all__ = ["TrainedRun", "find_run", "load_trained", "model_sensor", "check_guidance",
           "input_sensor", "read_inputs", "fuse_scenes", "comparison_rows", "LEARNED_LABELS",
           "learned_stages", "learned_fusions"]

# The stage whose parameters fuse scenes unless told otherwise: SRINO's last stage.
DEFAULT_STAGE = "stage2"
# Row names of the learned baselines in comparison tables.
LEARNED_LABELS = {"pnn": "PNN", "fusionnet": "FusionNet"}


@dataclasses.dataclass(frozen=True, eq=False)
class TrainedRun:
  """A trained run as inference sees it.

  Attributes:
    config: the run's config (a locked ConfigDict read from its config.json).
    folder: the run folder ("" for a config not read from disk).
    stage: the stage whose parameters are used (its record's `fuse` fuses).
  """

  config: ml_collections.ConfigDict
  folder: str = ""
  stage: str = DEFAULT_STAGE

  @property
  def sensor(self) -> str:
    return self.config.sensor

  @property
  def model(self) -> ModelConfig:
    return runs.model_config(self.config)


def _as_run(run: TrainedRun | ml_collections.ConfigDict) -> TrainedRun:
  return run if isinstance(run, TrainedRun) else TrainedRun(run)


def model_sensor(run: TrainedRun | ml_collections.ConfigDict) -> str:
  """The name of the sensor the run's model was trained for (its band count)."""
  return _as_run(run).sensor


def find_run(workdir: str | None = None, checkpoint: str | None = None
             ) -> tuple[ml_collections.ConfigDict, str, int | None]:
  """Resolves (run config, run folder, step) from --workdir or --checkpoint.

  `checkpoint` may be a run folder, one of its stage folders, or one step folder
  (`<run>/checkpoints/<stage>/{last,best}/<step>`).

  Raises:
    FileNotFoundError: naming the path when no run (config.json) is found there.
  """
  if (workdir is None) == (checkpoint is None):
    raise ValueError("give exactly one of workdir or checkpoint")
  path = pathlib.Path(workdir or checkpoint).resolve()
  if not path.exists():
    raise FileNotFoundError(f"{path} does not exist")
  step = int(path.name) if path.name.isdigit() else None
  for folder in (path, *path.parents):
    if (folder / "config.json").is_file():
      return runs.read_run_config(str(folder / "config.json")), str(folder), step
  raise FileNotFoundError(f"no config.json in {path} or its parents: not a srino-jax run")


def _stage_of(path: pathlib.Path, folder: str) -> str | None:
  """The stage named by a checkpoint path under `<folder>/checkpoints/<stage>/...`."""
  parts = path.relative_to(folder).parts
  return parts[1] if len(parts) >= 2 and parts[0] == "checkpoints" else None


def load_trained(workdir: str | None = None, checkpoint: str | None = None,
                 which: str = "best", stage: str | None = None) -> tuple[TrainedRun, Any]:
  """Loads a run's parameters: its last stage's (stage2) best by validation by default.

  Args:
    workdir: a run folder; or
    checkpoint: a run, stage or step checkpoint folder (a step folder picks which and step,
      a stage folder picks the stage).
    which: "best" (by the stage's validation score) or "last".
    stage: the stage to load (default: the one in `checkpoint`'s path, else stage2).

  Returns:
    (run, params): `run` is what `fuse_scenes` takes.
  """
  config, folder, step = find_run(workdir, checkpoint)
  if checkpoint is not None:
    path = pathlib.Path(checkpoint).resolve()
    stage = stage or _stage_of(path, folder)
    if step is not None:
      which = path.parent.name
  stage = get_stage(stage or DEFAULT_STAGE).name
  params = runs.stage_params(config, folder, stage, which=which, step=step)
  return TrainedRun(config, folder, stage), params


def check_guidance(run: TrainedRun | ml_collections.ConfigDict, guidance: str | None) -> None:
  """Refuses a guidance mode other than the one the model was trained with.

  A mode's adapter branches are trained with it: sampling a `both` model as `none` only
  drops trained branches (a knockout), which is not the paper's retrained ablation.

  Raises:
    ValueError: naming both modes.
  """
  trained = _as_run(run).config.model.guidance
  if guidance is not None and guidance != trained:
    raise ValueError(f"the model was trained with guidance '{trained}', not '{guidance}': "
                     f"sampling it as '{guidance}' would drop trained adapter branches. For "
                     f"the ablation train a model with --config.model.guidance={guidance}.")


def input_sensor(path: str, sensor, bits: int | None = None) -> sensors.Sensor:
  """The sensor of an input file with its maximum: 2^bits - 1 for `bits`, else the .mat
  scene's own bit depth (its `L`, e.g. 8 for the GeoEye-1 file), else the sensor table's.

  Model units are digital numbers / this maximum, on the way in (`read_inputs`) and out.
  """
  sensor = sensors.get_sensor(sensor)
  if bits is None and str(path).endswith(".mat") and os.path.exists(path):
    return scene_sensor(read_mat_scene(path), sensor.name)
  return sensors.get_sensor(sensor.name, bits=bits) if bits is not None else sensor


def read_inputs(path: str, sensor, reduce: bool = False, limit: int | None = None,
                bits: int | None = None) -> dict[str, np.ndarray]:
  """Reads scenes to fuse as NHWC float32 in model units (digital numbers / the maximum of
  `input_sensor(path, sensor, bits)`).

  Args:
    path: a PanCollection .h5 (reduced resolution with `gt`, or full resolution) or a MATLAB
      .mat scene (I_MS, I_PAN; I_GT / I_MS_LR if present; L, its bit depth, if present).
    sensor: sensor name or `Sensor`.
    reduce: for a .mat scene, apply the Wald protocol: fuse at the reduced scale and keep the
      original MS as the ground truth.
    limit: read at most this many scenes of an .h5 file.
    bits: the data's bit depth when not the sensor's (or the .mat's L).

  Returns:
    Dict with ms (N, h, w, C), lms (N, H, W, C), pan (N, H, W, 1) and gt when known.
  """
  sensor = sensors.get_sensor(sensor)
  if not os.path.exists(path):
    raise FileNotFoundError(f"input {path} does not exist")
  if path.endswith((".h5", ".hdf5")):
    top = None if bits is None else sensors.get_sensor(sensor.name, bits=bits).max_value
    return read_pancollection(path, sensor, limit=limit, max_value=top)
  if not path.endswith(".mat"):
    raise ValueError(f"input {path}: expected a PanCollection .h5 or a MATLAB .mat scene")
  scene = read_mat_scene(path)
  sensor = scene_sensor(scene, sensor.name, bits)
  scene = (reduce_scene(scene, sensor, ratio=sensor.ratio) if reduce
           else full_scene(scene, ratio=sensor.ratio))
  return {k: (np.asarray(v, np.float32) / sensor.max_value)[None]
          for k, v in scene.items() if k in ("ms", "lms", "pan", "gt")}


@functools.lru_cache(maxsize=16)
def _batch_fuser(fuse, cfg: ModelConfig, num_samples: int, steps: int, eta: float,
                 on_step=None):
  """jit(vmap over scenes x samples) of a stage's `fuse` -> (mean, std) over the samples.

  Scene b's samples use split(keys[b], num_samples); each sample fuses its scene alone
  (batch 1), so a scene's result does not depend on the other scenes of the batch.
  `on_step` is part of the cache key: pass the same object for every call (a new one
  compiles again).
  """
  kw = {} if on_step is None else {"on_step": on_step}

  def one(params, scene, key):
    return fuse(cfg, params, jax.tree.map(lambda x: x[None], scene), key, steps, eta,
                **kw)[0]

  def fuse_batch(params, scenes, keys):
    b = keys.shape[0]
    sample_keys = jax.vmap(lambda k: jax.random.split(k, num_samples))(keys)
    sample_keys = sample_keys.reshape((b * num_samples,) + sample_keys.shape[2:])
    repeated = jax.tree.map(lambda x: jnp.repeat(x, num_samples, axis=0), scenes)
    ys = jax.vmap(one, in_axes=(None, 0, 0))(params, repeated, sample_keys)
    ys = ys.reshape((b, num_samples) + ys.shape[1:])
    return ys.mean(1), ys.std(1)

  return jax.jit(fuse_batch)


def fuse_scenes(run: TrainedRun | ml_collections.ConfigDict, params: Any,
                data: dict[str, np.ndarray], key: jax.Array, num_samples: int = 1,
                steps: int | None = None, eta: float | None = None,
                guidance: str | None = None, batch_size: int = 1, progress: bool = True,
                on_step=None) -> tuple[np.ndarray, np.ndarray]:
  """Fuses every scene of `data` with the run's stage (SRINO: the guided DDIM sampler).

  Args:
    run: `load_trained`'s run (or a run's ConfigDict: stage2).
    params: its parameters.
    data: NHWC model-unit arrays with at least lms, ms, pan; optionally "origin" (N, 2)
      int, each scene's top-left output pixel (row, col) in its product's grid. With it the
      scenes are windows of one product: every scene uses `key` itself and SRINO's noise
      is positional (`model.sample`), so a pixel gets the same noise whichever window
      fuses it (tiles agree with the whole scene). Stages without noise ignore it.
    key: PRNG key; without "origin" scene i uses fold_in(key, i). Either way results do
      not depend on batch_size.
    num_samples: K samples per scene, summarised by their mean and std.
    steps, eta: override the run's sampling settings (config.diffusion).
    guidance: the guidance mode expected; refused unless it is the trained one.
    batch_size: scenes per jitted call (one vmap over batch_size x K samples).
    progress: show a progress bar over the sampler calls.
    on_step: host callback `on_step(i)` after DDIM step i of each sample (several calls
      per step under the vmap over scenes and samples: make it idempotent); pass the same
      object on every call, or each call compiles the sampler again.

  Returns:
    (mean, std): (N, H, W, C) float32 in model units; std is the per-pixel standard
    deviation over the K samples (0 when K = 1).
  """
  run = _as_run(run)
  check_guidance(run, guidance)
  record = get_stage(run.stage)
  if record.fuse is None:
    raise ValueError(f"stage {record.name!r} has no fusion: load a stage that fuses")
  diffusion = run.config.diffusion
  fuse = _batch_fuser(record.fuse, run.model, int(num_samples),
                      int(diffusion.sample_steps if steps is None else steps),
                      float(diffusion.eta if eta is None else eta), on_step)
  n = data["pan"].shape[0]
  positional = data.get("origin") is not None
  names = ("lms", "ms", "pan") + (("origin",) if positional else ())
  means, stds = [], []
  for i in tqdm.trange(0, n, batch_size, desc="sampling", disable=not progress):
    cli.check_interrupted()  # a signal deferred by the caller stops between sampler calls
    idx = np.minimum(np.arange(i, i + batch_size), n - 1)  # pad the last batch: one compile
    scenes = {k: jnp.asarray(data[k][idx]) for k in names}
    # Windows of one product share the key: their noise is a field over the product grid.
    keys = jnp.stack([key if positional else jax.random.fold_in(key, int(j)) for j in idx])
    mean, std = fuse(params, scenes, keys)
    keep = min(batch_size, n - i)
    means.append(np.asarray(mean[:keep]))
    stds.append(np.asarray(std[:keep]))
  return np.concatenate(means), np.concatenate(stds)


def learned_stages(folder: str) -> list[str]:
  """The learned baselines (`training.stages.LEARNED_STAGES`) with a checkpoint in the run
  folder `folder`, in registry order."""
  if not folder:
    return []
  return [s for s in LEARNED_STAGES
          if os.path.isdir(os.path.join(runs.stage_dir(folder, s), "last"))]


def learned_fusions(run: TrainedRun, data: dict[str, np.ndarray], which: str = "best",
                    progress: bool = False) -> dict[str, np.ndarray]:
  """Fuses `data` with every learned baseline trained in the run's folder.

  Args:
    run: a run read from disk (`load_trained`); its folder is searched.
    data: NHWC model-unit arrays with lms, ms, pan.
    which: "best" (by validation Q2n) or "last" checkpoint of each baseline.
    progress: show progress bars.

  Returns:
    {row name (LEARNED_LABELS): (N, H, W, C) float32 model units}; empty without any.
  """
  out = {}
  for stage in learned_stages(run.folder):
    params = runs.stage_params(run.config, run.folder, stage, which=which)
    learned = TrainedRun(run.config, run.folder, stage)
    out[LEARNED_LABELS.get(stage, stage)] = fuse_scenes(
        learned, params, data, jax.random.PRNGKey(0), progress=progress)[0]
  return out


def comparison_rows(data: dict[str, np.ndarray], fused: np.ndarray, sensor,
                    methods=("exp", "brovey", "gsa", "mtf-glp-hpm"), label: str = "SRINO",
                    seconds: float | None = None, clip: bool = True,
                    others: dict[str, np.ndarray] | None = None) -> list[dict]:
  """Table rows (`metrics.make_row`) for the baselines, `others` and `fused`, on the same
  scenes.

  Reduced-resolution indices when `data` holds `gt`, full-resolution ones otherwise.

  Args:
    data: the inputs, NHWC model units (ms, lms, pan, gt when known).
    fused: (N, H, W, C) model units.
    sensor: sensor of the scenes (its max converts to digital numbers, as the indices expect).
    methods: classical baselines to run beside it (`baselines.available_methods()`).
    label: the row name of `fused` (the last row).
    others: more fused stacks (row name -> (N, H, W, C) model units), e.g. the learned
      baselines' (`learned_fusions`), scored after the classical ones.
    seconds: fusion time per scene, kept in the row.
    clip: clip every fused image to [0, 2^bits] before scoring (the toolbox's th_values):
      ratio methods such as MTF-GLP-HPM divide by near-zero low-pass values in dark pixels
      and would otherwise dominate the mean with a few wild pixels.
  """
  sensor = sensors.get_sensor(sensor)
  dn = {k: np.asarray(data[k], np.float64) * sensor.max_value
        for k in ("ms", "lms", "pan", "gt") if k in data}
  stacks = {**(others or {}), label: fused}
  rows = evaluate_methods(dn, sensor, methods, clip=clip,
                          fused={k: np.asarray(v, np.float64) * sensor.max_value
                                 for k, v in stacks.items()})
  if seconds is not None:
    rows[-1]["seconds"] = float(seconds)
  return rows
