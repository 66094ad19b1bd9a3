"""Fusing scenes with a trained run: read inputs, fuse, compare with the baselines.

`sample.py`, `demo.py` and the benchmarks are thin layers over these functions. A run is a
`training.run.Run` (`Run.load(workdir or checkpoint)`); its parameters come from
`run.params()`, and every fusion goes through the one fuser (`make_fuser`, built and jitted
once, then called per batch of scenes or per window):

  run = Run.load("runs/wv3")
  fuse = make_fuser(run, run.params(), num_samples=4)
  mean, std = fuse_scenes(fuse, data, jax.random.key(0))
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from srino_jax import sensors
from srino_jax.data.inputs import read_input
from srino_jax.errors import CheckpointError
from srino_jax.metrics import evaluate_methods
from srino_jax.training.fuser import Fuser, fuse_scenes, make_fuser
from srino_jax.training.run import DEFAULT_STAGE, Run
from srino_jax.training.stages import LEARNED_STAGES, STAGES, get_stage

__all__ = ["Run", "Fuser", "make_fuser", "fuse_scenes", "open_run", "load_params",
           "check_guidance", "read_input", "comparison_rows", "learned_stages", "learned_fusions",
           "DEFAULT_STAGE"]


def open_run(workdir: str | None = None, checkpoint: str | None = None,
             which: str | None = None, stage: str | None = None,
             weights: str | None = None) -> Run:
  """`Run.load` of a command's --workdir or --checkpoint (exactly one), as the commands
  report it: no run there, or an unreadable one, is a `CheckpointError` (exit 4).

  Raises:
    CheckpointError: naming the folder, or a stage that does not fuse (stage1, aux).
    ValueError: an unknown stage or `which`.
  """
  if (workdir is None) == (checkpoint is None):
    raise ValueError("give exactly one of workdir or checkpoint")
  get_stage(stage or DEFAULT_STAGE)  # an unknown stage is a usage error, raised as such
  try:
    run = Run.load(workdir or checkpoint, which=which, stage=stage, weights=weights)
  except (FileNotFoundError, ValueError) as err:
    raise CheckpointError(str(err), "Give a run folder written by train.py.") from None
  if get_stage(run.stage).fuse is None:  # e.g. a stage-1 checkpoint folder
    fusing = ", ".join(s for s in STAGES if STAGES[s].fuse is not None)
    raise CheckpointError(f"{workdir or checkpoint}: stage {run.stage} does not fuse scenes",
                          f"Give a checkpoint of a stage that does ({fusing}).")
  return run


def load_params(run: Run) -> Any:
  """The parameters of the run's stage (`run.params()`), a missing stage checkpoint as a
  `CheckpointError` (exit 4) naming the stage to train first."""
  try:
    return run.params()
  except FileNotFoundError as err:
    raise CheckpointError(str(err), "Train the stage first, or give another run.") from None


def check_guidance(run: Run, guidance: str | None) -> None:
  """Refuses a guidance mode other than the one the model was trained with.

  A mode's adapter branches are trained with it: sampling a `both` model as `none` only
  drops trained branches (a knockout), which is not the paper's retrained ablation.

  Raises:
    ValueError: naming both modes.
  """
  trained = run.model.guidance
  if guidance is not None and guidance != trained:
    raise ValueError(f"the model was trained with guidance '{trained}', not '{guidance}': "
                     f"sampling it as '{guidance}' would drop trained adapter branches. For "
                     f"the ablation train a model with --config.model.guidance={guidance}.")


def learned_stages(run: Run) -> list[str]:
  """The learned baselines (`training.stages.LEARNED_STAGES`) with a checkpoint in the run's
  folder, in registry order."""
  return [s for s in LEARNED_STAGES if run.has_checkpoint(s)]


def learned_fusions(run: Run, data: dict[str, np.ndarray], which: str = "best",
                    progress: bool = False) -> dict[str, np.ndarray]:
  """Fuses `data` with every learned baseline trained in the run's folder.

  Args:
    run: a run read from disk (`Run.load`); its folder is searched.
    data: NHWC model-unit arrays with lms, ms, pan.
    which: "best" (by validation Q2n) or "last" checkpoint of each baseline.
    progress: show progress bars.

  Returns:
    {row name (the stage's label): (N, H, W, C) float32 model units}; empty without any.
  """
  out = {}
  for stage in learned_stages(run):
    fuse = make_fuser(run.with_stage(stage), run.params(stage, which=which))
    out[get_stage(stage).label] = fuse_scenes(fuse, data, jax.random.key(0),
                                              progress=progress)[0]
  return out


def comparison_rows(data: dict[str, np.ndarray], fused: np.ndarray, sensor,
                    methods=("exp", "brovey", "gsa", "mtf-glp-hpm"), label: str = "SRINO",
                    seconds: float | None = None, clip: bool = True,
                    others: dict[str, np.ndarray] | None = None, dim_cut: int = 0
                    ) -> list[dict]:
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
    dim_cut: the toolbox's border cut (its scripts use 21); 0 = none.
  """
  sensor = sensors.get_sensor(sensor)
  dn = {k: sensor.to_dn(data[k]) for k in ("ms", "lms", "pan", "gt") if k in data}
  stacks = {**(others or {}), label: fused}
  rows = evaluate_methods(dn, sensor, methods, clip=clip, dim_cut=dim_cut,
                          fused={k: sensor.to_dn(v) for k, v in stacks.items()})
  if seconds is not None:
    rows[-1]["seconds"] = float(seconds)
  return rows
