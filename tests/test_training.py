"""End-to-end training: loss goes down, resume equals uninterrupted, stage 2 freezes the
backbone, gradient clipping trains and resumes, clear errors for missing data and checkpoints.

The tiny run (`tiny_run`, `trained`) is defined in conftest.py."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

from conftest import with_overrides
from srino_jax.training import loop, run as runs, stages


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _losses(workdir, stage):
  with open(os.path.join(workdir, "logs", stage, "metrics.jsonl")) as f:
    return [r["train/loss"] for r in map(json.loads, f) if "train/loss" in r]


def test_stage1_training_lowers_the_loss(tiny_run, tmp_path):
  run = with_overrides(tiny_run, "train.stage1_steps=40", "train.eval_every=40",
                       "train.checkpoint_every=40")
  runs.save_run_config(run, str(tmp_path))
  loop.train_stage(run, str(tmp_path), "stage1", progress=False)
  losses = _losses(str(tmp_path), "stage1")
  assert len(losses) == 40
  assert np.mean(losses[-8:]) < 0.8 * np.mean(losses[:8]), losses


def test_all_stages_ran_and_stage2_kept_frozen_groups_bit_identical(tiny_run, trained):
  p_aux = runs.stage_params(tiny_run, trained, "aux")
  p1 = runs.stage_params(tiny_run, trained, "stage1")
  p2 = runs.stage_params(tiny_run, trained, "stage2")
  for a, b in zip(_leaves(p1["backbone"]), _leaves(p2["backbone"])):
    np.testing.assert_array_equal(a, b)
  for group in ("m2p", "ke"):
    for a, b in zip(_leaves(p_aux[group]), _leaves(p2[group])):
      np.testing.assert_array_equal(a, b)
  init = loop.initial_params(tiny_run, trained, "stage1")  # fresh tga values
  assert any(not np.array_equal(a, b) for a, b in zip(_leaves(init["tga"]), _leaves(p2["tga"])))
  assert len(_losses(trained, "stage2")) == tiny_run.train.stage2_steps


def test_interrupted_and_resumed_equals_uninterrupted(tiny_run, tmp_path):
  full, cut = str(tmp_path / "full"), str(tmp_path / "cut")
  for w in (full, cut):
    runs.save_run_config(tiny_run, w)
  want = loop.train_stage(tiny_run, full, "stage1", progress=False)
  loop.train_stage(tiny_run, cut, "stage1", max_steps=3, progress=False)  # "killed" at 3
  got = loop.train_stage(tiny_run, cut, "stage1", progress=False)  # resumed to the end
  for a, b in zip(_leaves(want), _leaves(got)):
    np.testing.assert_array_equal(a, b)


def test_grad_clip_trains_every_stage_resumes_and_samples(tiny_run, tmp_path):
  """optim.grad_clip > 0: the optimizer of training, resuming and the stage-2 inheritance is
  built once from the config, so every checkpoint loads (it did not: restore used defaults).
  Switching clipping on mid-stage, as the NaN guard advises, resumes too."""
  from srino_jax import inference, model as srino
  clipped = with_overrides(tiny_run, "optim.grad_clip=0.001")
  work, plain = str(tmp_path / "clip"), str(tmp_path / "plain")
  for w in (work, plain):
    runs.save_run_config(clipped, w)
  loop.train_stage(clipped, work, "aux", progress=False)
  loop.train_stage(tiny_run, work, "stage1", max_steps=2, progress=False)  # clipping off...
  got = loop.train_stage(clipped, work, "stage1", max_steps=4, progress=False)  # ...then on
  loop.train_stage(clipped, work, "stage1", progress=False)  # interrupted at 4, resumed
  loop.train_stage(clipped, work, "stage2", progress=False)
  # Clipping is on: the same steps without it end elsewhere.
  loop.train_stage(tiny_run, plain, "stage1", max_steps=4, progress=False)
  unclipped = runs.stage_params(tiny_run, plain, "stage1", step=4)
  assert any(not np.array_equal(a, b) for a, b in zip(_leaves(got["backbone"]),
                                                       _leaves(unclipped["backbone"])))
  run, params = inference.load_trained(workdir=work, which="last")
  data = inference.read_inputs(runs.data_path(tiny_run, "test"), "qb", limit=1)
  mean, _ = inference.fuse_scenes(run, params, data, jax.random.PRNGKey(0), progress=False)
  key = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(0), 0), 1)[0]
  want = srino.sample(runs.model_config(clipped), runs.stage_params(clipped, work, "stage2"),
                      {k: data[k] for k in ("lms", "pan")}, key, 3, 0.0)
  assert np.all(np.isfinite(mean))
  np.testing.assert_allclose(mean, np.asarray(want), rtol=1e-4, atol=1e-5)


def test_missing_data_and_checkpoints_are_named(tiny_run, tmp_path):
  bad = with_overrides(tiny_run, f"data.root={tmp_path / 'nowhere'}", "data.synthetic=false")
  with pytest.raises(FileNotFoundError, match="nowhere"):
    loop.prepare_data(bad)
  with pytest.raises(FileNotFoundError, match="no aux checkpoint"):
    loop.train_stage(tiny_run, str(tmp_path / "empty"), "stage2", progress=False)


def test_workdir_of_another_model_is_refused(tiny_run, trained):
  other = with_overrides(tiny_run, "model.width=16")
  with pytest.raises(ValueError, match="another 'model' config"):
    runs.save_run_config(other, trained)


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_run, tmp_path, monkeypatch):
  workdir = str(tmp_path)
  runs.save_run_config(tiny_run, workdir)
  loop.train_stage(tiny_run, workdir, "stage1", max_steps=2, progress=False)
  good = runs.stage_params(tiny_run, workdir, "stage1")

  def nan_loss(cfg, params, batch, key):
    loss = jax.tree.leaves(params["backbone"])[0].sum() * np.nan
    return loss, {"loss": loss}

  monkeypatch.setitem(stages.STAGES, "stage1",
                      dataclasses.replace(stages.get_stage("stage1"), loss=nan_loss))
  with pytest.raises(FloatingPointError, match="last good checkpoint \\(step 2\\)") as err:
    loop.train_stage(tiny_run, workdir, "stage1", progress=False)
  # An expected failure of the command line: one message, exit 6 (srino_jax.errors).
  from srino_jax import cli, errors
  assert errors.exit_code_of(err.value) == 6 == errors.EXIT_CODES["diverged"]
  assert "optim.grad_clip" in cli.message_of(err.value)
  kept = runs.stage_params(tiny_run, workdir, "stage1")
  for a, b in zip(_leaves(good), _leaves(kept)):
    np.testing.assert_array_equal(a, b)
