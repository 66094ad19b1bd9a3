"""End-to-end training: loss goes down, resume equals uninterrupted, stage 2 freezes the
backbone, clear errors for missing data and checkpoints."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

from srino_jax.training import loop
from srino_jax.training.config import DataConfig, LoopConfig, OptimConfig, RunConfig

TINY_MODEL = {"width": 8, "depth": 1, "heads": 2, "adapter_width": 4, "kernel_size": 5}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
  """A 4-band run on synthetic data small enough to train in seconds."""
  root = tmp_path_factory.mktemp("data")
  data = DataConfig(root=str(root), train="train_qb.h5", valid="valid_qb.h5",
                    test="test_qb_multiExm1.h5", test_full="test_qb_OrigScale_multiExm1.h5",
                    patch_size=16, synthetic=True, synthetic_train=32, synthetic_valid=4,
                    synthetic_test=2, synthetic_test_size=32)
  run = RunConfig(seed=0, sensor="qb", data=data, model=TINY_MODEL,
                  optim=OptimConfig(learning_rate=3e-3, decay_every=1000, weight_decay=0.0),
                  train=LoopConfig(batch_size=4, aux_steps=4, stage1_steps=6, stage2_steps=4,
                                   log_every=1, eval_every=3, eval_examples=4,
                                   checkpoint_every=2, keep_checkpoints=2))
  run = dataclasses.replace(run, diffusion=dataclasses.replace(run.diffusion, sample_steps=3))
  loop.prepare_data(run)
  return run


@pytest.fixture(scope="module")
def trained(tiny_run, tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("run"))
  loop.train(tiny_run, workdir, progress=False)
  return workdir


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _losses(workdir, stage):
  with open(os.path.join(workdir, "logs", stage, "metrics.jsonl")) as f:
    return [r["train/loss"] for r in map(json.loads, f) if "train/loss" in r]


def test_stage1_training_lowers_the_loss(tiny_run, tmp_path):
  run = dataclasses.replace(tiny_run, train=dataclasses.replace(
      tiny_run.train, stage1_steps=40, eval_every=40, checkpoint_every=40))
  loop.save_run_config(run, str(tmp_path))
  loop.train_stage(run, str(tmp_path), "stage1", progress=False)
  losses = _losses(str(tmp_path), "stage1")
  assert len(losses) == 40
  assert np.mean(losses[-8:]) < 0.8 * np.mean(losses[:8]), losses


def test_all_stages_ran_and_stage2_kept_frozen_groups_bit_identical(tiny_run, trained):
  p_aux = loop.stage_params(tiny_run, trained, "aux")
  p1 = loop.stage_params(tiny_run, trained, "stage1")
  p2 = loop.stage_params(tiny_run, trained, "stage2")
  for a, b in zip(_leaves(p1["backbone"]), _leaves(p2["backbone"])):
    np.testing.assert_array_equal(a, b)
  for group in ("m2p", "ke"):
    for a, b in zip(_leaves(p_aux[group]), _leaves(p2[group])):
      np.testing.assert_array_equal(a, b)
  init = loop._initial_params(tiny_run, trained, "stage1")  # fresh tga values
  assert any(not np.array_equal(a, b) for a, b in zip(_leaves(init["tga"]), _leaves(p2["tga"])))
  assert len(_losses(trained, "stage2")) == tiny_run.train.stage2_steps


def test_interrupted_and_resumed_equals_uninterrupted(tiny_run, tmp_path):
  full, cut = str(tmp_path / "full"), str(tmp_path / "cut")
  for w in (full, cut):
    loop.save_run_config(tiny_run, w)
  want = loop.train_stage(tiny_run, full, "stage1", progress=False)
  loop.train_stage(tiny_run, cut, "stage1", max_steps=3, progress=False)  # "killed" at 3
  got = loop.train_stage(tiny_run, cut, "stage1", progress=False)  # resumed to the end
  for a, b in zip(_leaves(want), _leaves(got)):
    np.testing.assert_array_equal(a, b)


def test_missing_data_and_checkpoints_are_named(tiny_run, tmp_path):
  bad = dataclasses.replace(tiny_run, data=dataclasses.replace(
      tiny_run.data, root=str(tmp_path / "nowhere"), synthetic=False))
  with pytest.raises(FileNotFoundError, match="nowhere"):
    loop.prepare_data(bad)
  with pytest.raises(FileNotFoundError, match="no aux checkpoint"):
    loop.train_stage(tiny_run, str(tmp_path / "empty"), "stage2", progress=False)


def test_workdir_of_another_model_is_refused(tiny_run, trained):
  other = dataclasses.replace(tiny_run, model={**TINY_MODEL, "width": 16})
  with pytest.raises(ValueError, match="another 'model' config"):
    loop.save_run_config(other, trained)


def _sample_main():
  import importlib.util
  from conftest import REPO
  spec = importlib.util.spec_from_file_location("sample_cli", REPO / "sample.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.main


def test_sample_writes_sr_in_digital_numbers(tiny_run, trained, tmp_path, capsys):
  import h5py
  test = tiny_run.data.path("test")
  out = tmp_path / "sr.h5"
  _sample_main()(["--workdir", trained, "--input", test, "--output", str(out),
                  "--num-samples", "2", "--eta", "0.5", "--methods", "exp",
                  "--png", str(tmp_path / "png")])
  with h5py.File(test) as src, h5py.File(out) as f:
    assert f["sr"].shape == src["lms"].shape  # N x C x H x W
    sr, lms, std = f["sr"][()], src["lms"][()], f["sr_std"][()]
  # Digital numbers, close to the upsampled MS that the model only adds details to.
  assert abs(np.median(sr) / np.median(lms) - 1) < 0.25
  assert np.all(std >= 0) and np.any(std > 0)  # two noise draws with eta > 0 differ
  table = capsys.readouterr().out
  assert "SRINO" in table and "EXP" in table and "Q4" in table
  assert len(list((tmp_path / "png").glob("*.png"))) == 2


def test_sample_refuses_to_overwrite_and_bad_inputs_write_nothing(tiny_run, trained, tmp_path):
  main = _sample_main()
  test = tiny_run.data.path("test")
  out = tmp_path / "sr.h5"
  out.write_bytes(b"keep me")
  with pytest.raises(SystemExit, match="exists"):
    main(["--workdir", trained, "--input", test, "--output", str(out)])
  assert out.read_bytes() == b"keep me"
  fresh = tmp_path / "fresh.h5"
  with pytest.raises(SystemExit, match="model fuses 4 bands, sensor WV3 has 8"):  # a 4-band model, an 8-band sensor
    main(["--workdir", trained, "--input", test, "--output", str(fresh), "--sensor", "wv3"])
  with pytest.raises(FileNotFoundError):
    main(["--workdir", str(tmp_path / "no_run"), "--input", test, "--output", str(fresh)])
  with pytest.raises(FileNotFoundError, match="missing.h5"):
    main(["--workdir", trained, "--input", str(tmp_path / "missing.h5"), "--output",
          str(fresh)])
  assert not fresh.exists()


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tiny_run, tmp_path, monkeypatch):
  workdir = str(tmp_path)
  loop.save_run_config(tiny_run, workdir)
  loop.train_stage(tiny_run, workdir, "stage1", max_steps=2, progress=False)
  good = loop.stage_params(tiny_run, workdir, "stage1")

  def nan_loss(cfg, params, batch, key):
    loss = jax.tree.leaves(params["backbone"])[0].sum() * np.nan
    return loss, {"loss": loss}

  monkeypatch.setattr(loop.srino, "stage1_loss", nan_loss)
  with pytest.raises(FloatingPointError, match="last good checkpoint \\(step 2\\)"):
    loop.train_stage(tiny_run, workdir, "stage1", progress=False)
  kept = loop.stage_params(tiny_run, workdir, "stage1")
  for a, b in zip(_leaves(good), _leaves(kept)):
    np.testing.assert_array_equal(a, b)


def test_checkpoint_paths_resolve_to_the_same_parameters(tiny_run, trained):
  from srino_jax import inference
  last = os.path.join(trained, "checkpoints", "stage2", "last")
  steps = sorted(int(s) for s in os.listdir(last))
  _, by_step = inference.load_trained(checkpoint=os.path.join(last, str(steps[0])))
  want = loop.stage_params(tiny_run, trained, "stage2", step=steps[0])
  for a, b in zip(_leaves(want), _leaves(by_step)):
    np.testing.assert_array_equal(a, b)
  _, latest = inference.load_trained(workdir=trained, which="last")
  final = loop.stage_params(tiny_run, trained, "stage2")
  for a, b in zip(_leaves(final), _leaves(latest)):
    np.testing.assert_array_equal(a, b)
  if len(steps) > 1:  # an earlier step differs from the final parameters
    assert any(not np.array_equal(a, b) for a, b in zip(_leaves(want), _leaves(final)))
  with pytest.raises(FileNotFoundError, match="not a srino-jax run"):
    inference.find_run(checkpoint=os.path.dirname(trained))
