"""Fusing scenes with a trained SRINO: load a run, read inputs, sample, write outputs.

`sample.py` is a thin command line over these functions; the demo uses them too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from srino_jax import model as srino, sensors
from srino_jax.data.pancollection import read_pancollection
from srino_jax.data.scenes import full_scene, read_mat_scene, reduce_scene
from srino_jax.training.config import RunConfig

__all__ = ["find_run", "load_trained", "read_inputs", "fuse_scenes", "comparison_rows"]


def find_run(workdir: str | None = None, checkpoint: str | None = None
             ) -> tuple[RunConfig, str, int | None]:
  """Resolves (run config, run folder, step) from --workdir or --checkpoint.

  `checkpoint` may be a run folder, its stage2 folder, or one step folder
  (`<run>/checkpoints/stage2/{last,best}/<step>`).

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
      with open(folder / "config.json", encoding="utf-8") as f:
        return RunConfig.from_dict(json.load(f)), str(folder), step
  raise FileNotFoundError(f"no config.json in {path} or its parents: not a srino-jax run")


def load_trained(workdir: str | None = None, checkpoint: str | None = None,
                 which: str = "best") -> tuple[RunConfig, Any]:
  """Loads a run's stage-2 parameters (the best by validation Q2n unless which="last")."""
  from srino_jax.training import loop  # local: training imports are heavier
  run, folder, step = find_run(workdir, checkpoint)
  if step is not None and checkpoint is not None:
    which = pathlib.Path(checkpoint).resolve().parent.name
  return run, loop.stage_params(run, folder, "stage2", which=which, step=step)


def read_inputs(path: str, sensor, reduce: bool = False, limit: int | None = None
                ) -> dict[str, np.ndarray]:
  """Reads scenes to fuse as NHWC float32 in model units (digital numbers / sensor max).

  Args:
    path: a PanCollection .h5 (reduced resolution with `gt`, or full resolution) or a MATLAB
      .mat scene (I_MS, I_PAN; I_GT / I_MS_LR if present).
    sensor: sensor name or `Sensor`.
    reduce: for a .mat scene, apply the Wald protocol: fuse at the reduced scale and keep the
      original MS as the ground truth.
    limit: read at most this many scenes of an .h5 file.

  Returns:
    Dict with ms (N, h, w, C), lms (N, H, W, C), pan (N, H, W, 1) and gt when known.
  """
  sensor = sensors.get_sensor(sensor)
  if not os.path.exists(path):
    raise FileNotFoundError(f"input {path} does not exist")
  if path.endswith((".h5", ".hdf5")):
    return read_pancollection(path, sensor, limit=limit)
  if not path.endswith(".mat"):
    raise ValueError(f"input {path}: expected a PanCollection .h5 or a MATLAB .mat scene")
  scene = read_mat_scene(path)
  scene = (reduce_scene(scene, sensor, ratio=sensor.ratio) if reduce
           else full_scene(scene, ratio=sensor.ratio))
  return {k: (np.asarray(v, np.float32) / sensor.max_value)[None]
          for k, v in scene.items() if k in ("ms", "lms", "pan", "gt")}


def _sampler(cfg, num_samples: int, steps: int, eta: float):
  """jit(vmap over sample keys) of the model's DDIM sampler -> (mean, std) over samples."""

  def fuse(params, batch, key):
    keys = jax.random.split(key, num_samples)
    ys = jax.vmap(lambda k: srino.sample(cfg, params, batch, k, steps, eta))(keys)
    return ys.mean(0), ys.std(0)

  return jax.jit(fuse)


def fuse_scenes(run: RunConfig, params: Any, data: dict[str, np.ndarray], key: jax.Array,
                num_samples: int = 1, steps: int | None = None, eta: float | None = None,
                guidance: str | None = None, batch_size: int = 1, progress: bool = True
                ) -> tuple[np.ndarray, np.ndarray]:
  """Fuses every scene of `data` with the DDIM sampler (residuals recomputed every step).

  Args:
    run: the trained run's settings (model, sampling defaults).
    params: its parameters.
    data: NHWC model-unit arrays with at least lms, ms, pan.
    key: PRNG key; scene i uses fold_in(key, i), so results do not depend on batch_size.
    num_samples: K samples per scene (vmapped), summarised by their mean and std.
    steps, eta, guidance: override the run's sampling settings.
    batch_size: scenes per sampler call.

  Returns:
    (mean, std): (N, H, W, C) float32 in model units; std is the per-pixel standard
    deviation over the K samples (0 when K = 1).
  """
  cfg = run.model_config()
  if guidance is not None:
    cfg = dataclasses.replace(cfg, guidance=guidance)
  steps = run.diffusion.sample_steps if steps is None else steps
  eta = run.diffusion.eta if eta is None else eta
  fuse = _sampler(cfg, num_samples, steps, eta)
  n = data["pan"].shape[0]
  means, stds = [], []
  for i in tqdm.trange(0, n, batch_size, desc="sampling", disable=not progress):
    batch = {k: jnp.asarray(data[k][i:i + batch_size]) for k in ("lms", "ms", "pan")}
    # One key per scene: vmap the per-scene fuse over the scenes of this batch.
    keys = jnp.stack([jax.random.fold_in(key, j) for j in range(i, i + len(batch["pan"]))])
    mean, std = jax.vmap(lambda b, k: fuse(params, jax.tree.map(lambda x: x[None], b), k))(
        batch, keys)
    means.append(np.asarray(mean[:, 0]))
    stds.append(np.asarray(std[:, 0]))
  return np.concatenate(means), np.concatenate(stds)


def comparison_rows(data: dict[str, np.ndarray], fused: np.ndarray, sensor,
                    methods=("exp", "brovey", "gsa", "mtf-glp-hpm"), label: str = "SRINO",
                    seconds: float | None = None, clip: bool = True) -> list[dict]:
  """Table rows (`metrics.make_row`) for the baselines and `fused`, on the same scenes.

  Reduced-resolution indices when `data` holds `gt`, full-resolution ones otherwise.

  Args:
    data: the inputs, NHWC model units (ms, lms, pan, gt when known).
    fused: (N, H, W, C) model units.
    sensor: sensor of the scenes (its max converts to digital numbers, as the indices expect).
    methods: classical baselines to run beside it (`baselines.available_methods()`).
    label: the row name of `fused`.
    seconds: fusion time per scene, kept in the row.
    clip: clip every fused image to [0, 2^bits] before scoring (the toolbox's th_values):
      ratio methods such as MTF-GLP-HPM divide by near-zero low-pass values in dark pixels
      and would otherwise dominate the mean with a few wild pixels.
  """
  from srino_jax.evaluate import evaluate_methods  # local: only needed for tables
  sensor = sensors.get_sensor(sensor)
  dn = {k: np.asarray(data[k], np.float64) * sensor.max_value
        for k in ("ms", "lms", "pan", "gt") if k in data}
  rows = evaluate_methods(dn, sensor, methods, clip=clip,
                          fused={label: np.asarray(fused, np.float64) * sensor.max_value})
  if seconds is not None:
    rows[-1]["seconds"] = float(seconds)
  return rows
