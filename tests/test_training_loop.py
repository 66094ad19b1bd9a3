"""End-to-end training: loss goes down, resume equals uninterrupted, stage 2 freezes the
backbone, gradient clipping trains and resumes, clear errors for missing data and checkpoints.

The tiny run (`tiny_run`, `trained`) is defined in conftest.py."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

from conftest import with_overrides, as_run
from srino_jax.training import loop, stages


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _losses(workdir, stage):
  with open(os.path.join(workdir, "logs", stage, "metrics.jsonl")) as f:
    return [r["train/loss"] for r in map(json.loads, f) if "train/loss" in r]


def test_stage1_training_lowers_the_loss(tiny_run, tmp_path):
  run = with_overrides(tiny_run, "train.stage1_steps=40", "train.eval_every=40",
                       "train.checkpoint_every=40")
  as_run(run, str(tmp_path)).save()
  loop.train_stage(as_run(run, str(tmp_path)), "stage1", progress=False)
  losses = _losses(str(tmp_path), "stage1")
  assert len(losses) == 40
  assert np.mean(losses[-8:]) < 0.8 * np.mean(losses[:8]), losses


def test_all_stages_ran_and_stage2_kept_frozen_groups_bit_identical(tiny_run, trained):
  p_aux = as_run(tiny_run, trained).params("aux", which="last")
  p1 = as_run(tiny_run, trained).params("stage1", which="last")
  p2 = as_run(tiny_run, trained).params("stage2", which="last")
  for a, b in zip(_leaves(p1["backbone"]), _leaves(p2["backbone"])):
    np.testing.assert_array_equal(a, b)
  for group in ("m2p", "ke"):
    for a, b in zip(_leaves(p_aux[group]), _leaves(p2[group])):
      np.testing.assert_array_equal(a, b)
  init = loop.initial_params(as_run(tiny_run, trained), "stage1")  # fresh tga values
  assert any(not np.array_equal(a, b) for a, b in zip(_leaves(init["tga"]), _leaves(p2["tga"])))
  assert len(_losses(trained, "stage2")) == tiny_run.train.stage2_steps


def test_interrupted_and_resumed_equals_uninterrupted(tiny_run, tmp_path):
  full, cut = str(tmp_path / "full"), str(tmp_path / "cut")
  for w in (full, cut):
    as_run(tiny_run, w).save()
  want = loop.train_stage(as_run(tiny_run, full), "stage1", progress=False)
  loop.train_stage(as_run(tiny_run, cut), "stage1", max_steps=3, progress=False)  # "killed" at 3
  got = loop.train_stage(as_run(tiny_run, cut), "stage1", progress=False)  # resumed to the end
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
    as_run(clipped, w).save()
  loop.train_stage(as_run(clipped, work), "aux", progress=False)
  loop.train_stage(as_run(tiny_run, work), "stage1", max_steps=2, progress=False)  # clip off
  got = loop.train_stage(as_run(clipped, work), "stage1", max_steps=4, progress=False)  # on
  loop.train_stage(as_run(clipped, work), "stage1", progress=False)  # interrupted at 4, resumed
  loop.train_stage(as_run(clipped, work), "stage2", progress=False)
  # Clipping is on: the same steps without it end elsewhere.
  loop.train_stage(as_run(tiny_run, plain), "stage1", max_steps=4, progress=False)
  unclipped = as_run(tiny_run, plain).params("stage1", step=4, which="last")
  assert any(not np.array_equal(a, b) for a, b in zip(_leaves(got["backbone"]),
                                                       _leaves(unclipped["backbone"])))
  run = inference.Run.load(work, which="last")
  params = run.params()
  data = inference.read_input(as_run(tiny_run).data_path("test"), "qb", limit=1)[0]
  mean, _ = inference.fuse_scenes(inference.make_fuser(run, params), data, jax.random.key(0))
  key = jax.random.split(jax.random.fold_in(jax.random.key(0), 0), 1)[0]
  want = srino.sample(run.model, params, {k: data[k] for k in ("lms", "pan")}, key, 3, 0.0)
  assert np.all(np.isfinite(mean))
  np.testing.assert_allclose(mean, np.asarray(want), rtol=1e-4, atol=1e-5)


def test_missing_data_and_checkpoints_are_named(tiny_run, tmp_path):
  bad = with_overrides(tiny_run, f"data.root={tmp_path / 'nowhere'}", "data.synthetic=false")
  with pytest.raises(FileNotFoundError, match="nowhere"):
    loop.prepare_data(as_run(bad))
  with pytest.raises(FileNotFoundError, match="no aux checkpoint"):
    loop.train_stage(as_run(tiny_run, str(tmp_path / "empty")), "stage2", progress=False)


def test_workdir_of_another_model_is_refused(tiny_run, trained):
  other = with_overrides(tiny_run, "model.width=16")
  with pytest.raises(ValueError, match="another 'model' config"):
    as_run(other, trained).save()


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_run, tmp_path, monkeypatch):
  workdir = str(tmp_path)
  as_run(tiny_run, workdir).save()
  loop.train_stage(as_run(tiny_run, workdir), "stage1", max_steps=2, progress=False)
  good = as_run(tiny_run, workdir).params("stage1", which="last")

  def nan_loss(cfg, params, batch, key):
    loss = jax.tree.leaves(params["backbone"])[0].sum() * np.nan
    return loss, {"loss": loss}

  monkeypatch.setitem(stages.STAGES, "stage1",
                      dataclasses.replace(stages.get_stage("stage1"), loss=nan_loss))
  with pytest.raises(FloatingPointError, match="last good checkpoint \\(step 2\\)") as err:
    loop.train_stage(as_run(tiny_run, workdir), "stage1", progress=False)
  # An expected failure of the command line: one message, exit 6 (srino_jax.errors).
  from srino_jax import cli, errors
  assert errors.exit_code_of(err.value) == 6 == errors.EXIT_CODES["diverged"]
  assert "optim.grad_clip" in cli.message_of(err.value)
  kept = as_run(tiny_run, workdir).params("stage1", which="last")
  for a, b in zip(_leaves(good), _leaves(kept)):
    np.testing.assert_array_equal(a, b)
