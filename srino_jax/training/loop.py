"""The training loop of one stage, and the stages in order (`train(run)`).

Stages come from the registry (`training.stages`): SRINO's are

  aux     f_M2P and f_KE on (H, P) and (H, L) pairs
  stage1  the neural-operator backbone, condition = H
  stage2  the Triple Guidance Adapters, backbone / f_M2P / f_KE frozen

Each stage starts from the final parameters of the stages it inherits from, checkpoints
into `<workdir>/checkpoints/<stage>`, and resumes from there when the folder already holds a
checkpoint: batches and random keys are pure functions of (seed, step), so an interrupted
and resumed run reaches the same parameters as an uninterrupted one. The loop reads the
`Run` (its ConfigDict, ModelConfig, sources, keys); the jitted steps see only the
ModelConfig and arrays.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from typing import Any, Callable, Sequence

import jax
import numpy as np
import tqdm

from srino_jax import checkpoints, cli
from srino_jax.errors import DivergedError
from srino_jax.data.pipeline import TrainBatches
from srino_jax.training import datasets, optim, sharding, validation
from srino_jax.training.ema import init_ema, with_ema
from srino_jax.training.logging import MetricWriter
from srino_jax.training.run import Run
from srino_jax.training.stages import SRINO_STAGES, get_stage
from srino_jax.training.state import TrainState, make_train_step

__all__ = ["prepare_data", "train", "train_stage", "all_stages", "initial_params"]


def prepare_data(run: Run) -> None:
  """Checks the run's data files exist; writes synthetic ones first if the config asks.

  Raises:
    FileNotFoundError: naming each missing file (real data is never downloaded).
  """
  datasets.check_sources(run, ("real",))  # an error naming the folder and the flag
  needed = datasets.needed_files(run)
  missing = [run.data_path(n) for n in needed if not os.path.exists(run.data_path(n))]
  config = run.config
  if missing and config.data.synthetic:
    from srino_jax.synthetic import make_synthetic_dataset
    d = config.data
    make_synthetic_dataset(d.root, config.sensor, seed=config.seed, num_train=d.synthetic_train,
                           num_valid=d.synthetic_valid, num_test=d.synthetic_test,
                           test_size=d.synthetic_test_size, patch_size=d.patch_size)
    missing = [p for p in missing if not os.path.exists(p)]
  if missing:
    raise FileNotFoundError(
        f"data file(s) not found: {', '.join(missing)}. Point --config.data.root at your "
        "PanCollection folder (or make files with python -m srino_jax.data.make_dataset).")
  datasets.check_sources(run, ("file",))


def all_stages(run: Run) -> tuple[str, ...]:
  """What `train.py --stage all` trains: SRINO's stages, then the learned baselines listed in
  `config.train.baselines` (comma-separated, e.g. "pnn,fusionnet"; "" for none)."""
  extra = [s.strip() for s in str(run.config.train.baselines).split(",") if s.strip()]
  return tuple(SRINO_STAGES) + tuple(get_stage(s).name for s in extra)


def initial_params(run: Run, stage: str) -> Any:
  """Fresh parameters of `stage`, with the groups it inherits read from earlier stages
  (their last checkpoints; the EMA weights when the run keeps an EMA)."""
  params = run.init_params(stage)
  for source, groups in get_stage(stage).inherits.items():
    trained = run.params(source, which="last", groups=groups)  # one read per source
    params = {**params, **trained}
  return params


@dataclasses.dataclass
class _StageLoop:
  """What the inner loop of one stage needs besides the state."""

  stage: str
  seed: int
  settings: Any  # config.train (a ConfigDict): log / eval / checkpoint periods
  train_step: Callable
  validate: Callable
  batches: TrainBatches
  key: jax.Array  # the stage's key; step i uses fold_in(key, i)
  mesh: jax.sharding.Mesh
  ckpts: checkpoints.StageCheckpoints
  writer: MetricWriter
  progress: bool


def train_stage(run: Run, stage: str, max_steps: int | None = None,
                progress: bool = True) -> Any:
  """Trains one stage to `config.train.<stage>_steps` (resuming if possible); returns params.

  Args:
    run: the run (its workdir holds the checkpoints, logs and config.json).
    stage: a registered stage name (SRINO: "aux", "stage1", "stage2").
    max_steps: stop after this global step (as if interrupted); for tests and budgets.
    progress: show a progress bar.

  Raises:
    DivergedError (a FloatingPointError): when the loss turns NaN/Inf; the last good
      checkpoint is kept.
  """
  record = get_stage(stage)  # raises for an unknown stage, listing the known
  config = run.config
  total = run.stage_steps(stage)
  stop = total if max_steps is None else min(total, max_steps)
  mesh = sharding.make_mesh()
  tx = optim.stage_optimizer(config, stage)
  ckpts = checkpoints.StageCheckpoints(run.stage_dir(stage),
                                       keep=config.train.keep_checkpoints,
                                       best_mode="max" if record.higher_is_better else "min")
  writer = None
  try:
    params = initial_params(run, stage)
    ema_groups = record.trains if run.ema is not None else ()
    state = sharding.replicate(TrainState.create(params, tx, ema_groups), mesh)
    if ckpts.latest_step() is not None:
      # A damaged latest falls back to an intact one; a checkpoint written without an EMA
      # (EMA switched on when resuming) starts it from the restored weights.
      state, meta = ckpts.restore(state, optional=TrainState.OPTIONAL_FIELDS)
      if "ema" in meta["absent_fields"] and ema_groups:
        state = state.replace(ema=init_ema(state.params, ema_groups))
    start = int(state.step)
    # Steps the interrupted run logged after its last checkpoint are dropped: logged once.
    writer = MetricWriter(os.path.join(run.workdir, "logs", stage),
                          enabled=jax.process_index() == 0, resume_step=start)
    if start >= stop:
      return jax.device_get(state.params)
    train_step = make_train_step(record.bind_loss(run.model), tx,
                                 optim.param_labels(params, stage), ema=run.ema)
    scenes: dict = {}  # real scenes read once for training and validation
    with datasets.train_batches(run, scenes) as batches:
      ctx = _StageLoop(stage, config.seed, config.train, train_step,
                       validation.make_validator(run, stage, scenes=scenes), batches,
                       run.stage_key(stage), mesh, ckpts, writer, progress)
      state = _run_steps(ctx, state, start, stop)
    return jax.device_get(state.params)
  finally:
    ckpts.close()
    if writer is not None:
      writer.close()


def _run_steps(ctx: _StageLoop, state: TrainState, start: int, stop: int) -> TrainState:
  """The inner loop: steps, logs, validation, checkpoints, NaN guard."""
  stage, loop, ckpts, writer = ctx.stage, ctx.settings, ctx.ckpts, ctx.writer
  sync = sharding.needs_step_sync()
  pending: list[dict] = []  # device metrics since the last log: fetched together
  last_good = ckpts.latest_step()
  bar = tqdm.trange(start, stop, initial=start, total=stop, desc=stage, disable=not ctx.progress,
                    dynamic_ncols=True)
  t0, n0 = time.perf_counter(), start

  def flush(step: int) -> None:
    nonlocal pending, t0, n0
    if not pending:
      return
    fetched = jax.device_get(pending)
    means = {k: float(np.mean([m[k] for m in fetched])) for k in fetched[0]}
    pending = []
    if not all(math.isfinite(v) for v in means.values()):
      raise DivergedError(
          f"{stage}: non-finite training metrics {means} before step {step}; stopped. The last "
          f"good checkpoint (step {last_good}) is kept in {ckpts.directory}",
          hint="lower optim.learning_rate or set optim.grad_clip, then resume")
    means["steps_per_s"] = (step - n0) / max(time.perf_counter() - t0, 1e-9)
    t0, n0 = time.perf_counter(), step
    writer.write(step, means, prefix="train/")
    bar.set_postfix(loss=f"{means['loss']:.4g}", it_s=f"{means['steps_per_s']:.2f}")

  def save(step: int, score: float | None) -> None:
    nonlocal last_good
    flush(step)  # never checkpoint parameters that produced a NaN
    ckpts.save(step, state, {"stage": stage, "step": step, "seed": ctx.seed}, score=score)
    last_good = step

  try:
    for step in bar:
      cli.check_interrupted()  # a deferred SIGINT/SIGTERM stops here, between steps
      batch = sharding.shard_batch(ctx.batches.batch(step), ctx.mesh)
      state, metrics = ctx.train_step(state, batch, jax.random.fold_in(ctx.key, step))
      pending.append(metrics)
      if sync:
        jax.block_until_ready(metrics)
      done = step + 1
      if done % loop.log_every == 0:
        flush(done)
      score = None
      if done % loop.eval_every == 0 or done == stop:
        flush(done)
        scores = ctx.validate(with_ema(state.params, state.ema))  # the weights that fuse
        writer.write(done, scores, prefix="valid/")
        score = scores["score"]
      if done % loop.checkpoint_every == 0 or done == stop or score is not None:
        save(done, score)
  except KeyboardInterrupt:
    # Keep the work done since the last checkpoint (one save, waited for), unless the
    # interrupt hit inside a step (the donated state is then gone and the last checkpoint
    # is the resume point) or the save fails (the interrupt is what is reported).
    try:
      if start < int(state.step) != last_good:
        save(int(state.step), None)
      ckpts.wait()
    except (RuntimeError, OSError, FloatingPointError):
      pass
    raise
  finally:
    bar.close()
  ckpts.wait()
  return state


def train(run: Run, stages: Sequence[str] = SRINO_STAGES, progress: bool = True) -> Any:
  """Runs the stages in order (default: aux, stage1, stage2); returns the final params.

  Writes `<workdir>/config.json` first (refusing a workdir trained with another model).
  """
  for stage in stages:
    get_stage(stage)
  run.save()
  params = None
  for stage in stages:
    params = train_stage(run, stage, progress=progress)
  return params
