"""The training loop of one stage, and the three stages in order.

  aux     f_M2P and f_KE on (H, P) and (H, L) pairs
  stage1  the neural-operator backbone, condition = H
  stage2  the Triple Guidance Adapters, backbone / f_M2P / f_KE frozen

Each stage starts from the final parameters of the stages before it, checkpoints into
`<workdir>/checkpoints/<stage>`, and resumes from there when the folder already holds a
checkpoint: batches and random keys are pure functions of (seed, step), so an interrupted
and resumed run reaches the same parameters as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from srino_jax import model as srino
from srino_jax.atomic import write_text_atomic
from srino_jax.data.pipeline import TrainBatches
from srino_jax.training import checkpoint, optim, sharding, validation
from srino_jax.training.config import RunConfig
from srino_jax.training.logging import MetricWriter
from srino_jax.training.state import TrainState, make_train_step

__all__ = ["STAGES", "prepare_data", "train", "train_stage", "stage_params", "save_run_config"]

STAGES = ("aux", "stage1", "stage2")
# Which earlier stage's checkpoint each stage takes which groups from.
_INHERITS = {"aux": {}, "stage1": {}, "stage2": {"aux": ("m2p", "ke"), "stage1": ("backbone",)}}


def prepare_data(run: RunConfig) -> None:
  """Checks the run's data files exist; writes synthetic ones first if the config asks.

  Raises:
    FileNotFoundError: naming each missing file (real data is never downloaded).
  """
  needed = ("train", "valid")
  missing = [run.data.path(n) for n in needed if not os.path.exists(run.data.path(n))]
  if missing and run.data.synthetic:
    from srino_jax.synthetic import make_synthetic_dataset
    d = run.data
    make_synthetic_dataset(d.root, run.sensor, seed=run.seed, num_train=d.synthetic_train,
                           num_valid=d.synthetic_valid, num_test=d.synthetic_test,
                           test_size=d.synthetic_test_size, patch_size=d.patch_size)
    missing = [run.data.path(n) for n in needed if not os.path.exists(run.data.path(n))]
  if missing:
    raise FileNotFoundError(
        f"data file(s) not found: {', '.join(missing)}. Point --config.data.root at your "
        "PanCollection folder (or make files with python -m srino_jax.data.make_dataset).")


def _loss_fn(stage: str, cfg) -> Callable:
  if stage == "aux":
    return lambda params, batch, key: srino.aux_loss(cfg, params, batch)
  loss = {"stage1": srino.stage1_loss, "stage2": srino.stage2_loss}[stage]
  return lambda params, batch, key: loss(cfg, params, batch, key)


def save_run_config(run: RunConfig, workdir: str) -> None:
  """Writes `<workdir>/config.json`; refuses a workdir trained with another model or sensor."""
  path = os.path.join(workdir, "config.json")
  new = run.to_dict()
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      old = json.load(f)
    for field in ("sensor", "model", "diffusion"):
      if old.get(field) != new[field]:
        raise ValueError(f"{workdir} holds a run with another '{field}' config "
                         f"({old.get(field)} vs {new[field]}): use a new --workdir")
  write_text_atomic(path, json.dumps(new, indent=2, sort_keys=True))


def _checkpoints(run: RunConfig, workdir: str, stage: str) -> checkpoint.StageCheckpoints:
  # aux and stage1 are scored by validation loss, stage2 by Q2n of the sampled fusion.
  return checkpoint.StageCheckpoints(os.path.join(workdir, "checkpoints", stage),
                                     keep=run.train.keep_checkpoints,
                                     best_mode="max" if stage == "stage2" else "min")


def _initial_params(run: RunConfig, workdir: str, stage: str) -> Any:
  """Fresh parameters, with the groups earlier stages trained taken from their checkpoints."""
  cfg = run.model_config()
  params = srino.init_params(cfg, jax.random.PRNGKey(run.seed), pan_size=run.data.patch_size)
  for source, groups in _INHERITS[stage].items():
    trained = stage_params(run, workdir, source, template=params)  # one restore per source
    params = {**params, **{group: trained[group] for group in groups}}
  return params


def stage_params(run: RunConfig, workdir: str, stage: str, template: Any = None,
                 which: str = "last", step: int | None = None) -> Any:
  """The parameters a finished (or interrupted) stage left in `workdir`.

  Args:
    run, workdir, stage: the run and the stage to read.
    template: a parameter tree of the right structure (default: a fresh init).
    which: "last" (the latest checkpoint) or "best" (the best by validation).
    step: a particular step of `which` instead of the latest / best.

  Raises:
    FileNotFoundError: naming the stage to train first when it has no checkpoint.
  """
  if template is None:
    template = srino.init_params(run.model_config(), jax.random.PRNGKey(run.seed),
                                 pan_size=run.data.patch_size)
  ckpts = _checkpoints(run, workdir, stage)
  try:
    if ckpts.latest_step() is None:
      raise FileNotFoundError(f"no {stage} checkpoint in {ckpts.directory}: train it first "
                              f"(python train.py ... --stage {stage})")
    tx = optim.make_optimizer(stage)
    state, _ = ckpts.restore(TrainState.create(template, tx), step=step, which=which)
  finally:
    ckpts.close()
  return state.params


def train_stage(run: RunConfig, workdir: str, stage: str, max_steps: int | None = None,
                progress: bool = True) -> Any:
  """Trains one stage to `run.train.<stage>_steps` (resuming if possible); returns params.

  Args:
    run: the run settings.
    workdir: output folder (checkpoints, logs, config.json).
    stage: "aux", "stage1" or "stage2".
    max_steps: stop after this global step (as if interrupted); for tests and budgets.
    progress: show a progress bar.

  Raises:
    FloatingPointError: when the loss turns NaN/Inf; the last good checkpoint is kept.
  """
  if stage not in STAGES:
    raise ValueError(f"unknown stage {stage!r}; known: {', '.join(STAGES)}")
  cfg = run.model_config()
  total = run.train.steps(stage)
  stop = total if max_steps is None else min(total, max_steps)
  mesh = sharding.make_mesh()
  opt = run.optim
  tx = optim.make_optimizer(stage, opt.learning_rate, opt.decay_every, opt.decay_factor,
                            opt.b1, opt.b2, opt.weight_decay, opt.grad_clip or None)
  ckpts = _checkpoints(run, workdir, stage)
  writer = MetricWriter(os.path.join(workdir, "logs", stage), enabled=jax.process_index() == 0)
  try:
    params = _initial_params(run, workdir, stage)
    state = sharding.replicate(TrainState.create(params, tx), mesh)
    if ckpts.latest_step() is not None:
      state, _ = ckpts.restore(state)
    start = int(state.step)
    if start >= stop:
      return jax.device_get(state.params)
    validate = validation.make_validator(run, stage)
    train_step = make_train_step(_loss_fn(stage, cfg), tx, optim.param_labels(params, stage))
    stage_key = jax.random.fold_in(jax.random.PRNGKey(run.seed), STAGES.index(stage) + 1)
    with TrainBatches(run.data.path("train"), run.sensor, run.train.batch_size,
                      patch_size=run.data.patch_size, seed=run.seed) as batches:
      state = _run_steps(run, stage, state, start, stop, batches, train_step, stage_key, mesh,
                         ckpts, writer, validate, progress)
    return jax.device_get(state.params)
  finally:
    ckpts.close()
    writer.close()


def _run_steps(run, stage, state, start, stop, batches, train_step, stage_key, mesh, ckpts,
               writer, validate, progress):
  """The inner loop: steps, logs, validation, checkpoints, NaN guard."""
  loop = run.train
  sync = sharding.needs_step_sync()
  pending: list[dict] = []  # device metrics since the last log: fetched together
  last_good = ckpts.latest_step()
  bar = tqdm.trange(start, stop, initial=start, total=stop, desc=stage, disable=not progress,
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
      raise FloatingPointError(
          f"{stage}: non-finite training metrics {means} before step {step}; stopped. The last "
          f"good checkpoint (step {last_good}) is kept in {ckpts.directory}. Lower "
          f"optim.learning_rate or set optim.grad_clip, then resume.")
    means["steps_per_s"] = (step - n0) / max(time.perf_counter() - t0, 1e-9)
    t0, n0 = time.perf_counter(), step
    writer.write(step, means, prefix="train/")
    bar.set_postfix(loss=f"{means['loss']:.4g}", it_s=f"{means['steps_per_s']:.2f}")

  def save(step: int, score: float | None) -> None:
    nonlocal last_good
    flush(step)  # never checkpoint parameters that produced a NaN
    ckpts.save(step, state, {"stage": stage, "step": step, "seed": run.seed}, score=score)
    last_good = step

  try:
    for step in bar:
      batch = sharding.shard_batch(batches.batch(step), mesh)
      state, metrics = train_step(state, batch, jax.random.fold_in(stage_key, step))
      pending.append(metrics)
      if sync:
        jax.block_until_ready(metrics)
      done = step + 1
      if done % loop.log_every == 0:
        flush(done)
      score = None
      if done % loop.eval_every == 0 or done == stop:
        flush(done)
        scores = validate(state.params)
        writer.write(done, scores, prefix="valid/")
        score = scores["score"]
      if done % loop.checkpoint_every == 0 or done == stop or score is not None:
        save(done, score)
  except KeyboardInterrupt:
    # Keep the work done since the last checkpoint, unless the interrupt hit inside a step
    # (the donated state is then gone and the last checkpoint is the resume point).
    try:
      if int(state.step) != last_good:
        save(int(state.step), None)
    except RuntimeError:
      pass
    ckpts.wait()
    raise
  finally:
    bar.close()
  ckpts.wait()
  return state


def train(run: RunConfig, workdir: str, stages=STAGES, progress: bool = True) -> Any:
  """Runs the stages in order (default: aux, stage1, stage2); returns the final params."""
  save_run_config(run, workdir)
  params = None
  for stage in stages:
    params = train_stage(run, workdir, stage, progress=progress)
  return params
