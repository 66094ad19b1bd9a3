"""The EMA of the trained weights: the formula by hand, exact on constants, part of the train
state (checkpointed; resume bitwise exact), validation and fusion read it, frozen groups
have none, and a checkpoint without one (EMA switched on later) resumes."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import as_run, with_overrides
from srino_jax.training import loop
from srino_jax.training.ema import EmaSettings, ema_update, init_ema, with_ema


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_an_ema_of_a_constant_sequence_equals_it():
  p = {"g": {"w": jnp.asarray(np.random.default_rng(0).normal(size=(5, 3)), jnp.float32)}}
  ema = init_ema(p, ("g",))
  for k in range(1, 50):
    ema = ema_update(ema, p, jnp.int32(k), EmaSettings(0.9973, 3))
  np.testing.assert_array_equal(ema["g"]["w"], p["g"]["w"])


def test_the_ema_follows_before_start_then_averages_by_the_formula():
  settings = EmaSettings(0.9, 2)
  seq = [np.float32(v) for v in (1.0, 5.0, 2.0, -3.0, 7.0)]
  ema = init_ema({"g": jnp.float32(0.0)}, ("g",))
  want = None
  for k, v in enumerate(seq, start=1):
    ema = ema_update(ema, {"g": jnp.float32(v), "frozen": jnp.float32(9.0)}, jnp.int32(k),
                     settings)
    want = v if k <= 2 else np.float32(0.9) * want + np.float32(0.1) * v
    np.testing.assert_allclose(float(ema["g"]), want, rtol=1e-6)
  assert set(ema) == {"g"}  # only the groups it was made for
  assert with_ema({"g": 0.0, "frozen": 9.0}, ema) == {"g": ema["g"], "frozen": 9.0}
  assert with_ema({"g": 0.0}, None) == {"g": 0.0}


def test_bad_settings_are_named():
  with pytest.raises(ValueError, match="ema_decay must be in"):
    EmaSettings(1.0, 0)
  with pytest.raises(ValueError, match="ema_start must be >= 0"):
    EmaSettings(0.9, -1)


@pytest.fixture(scope="module")
def ema_run(tiny_run):
  return with_overrides(tiny_run, "train.ema_decay=0.8", "train.ema_start=2")


def test_resume_with_ema_is_bitwise_exact_and_the_ema_is_checkpointed(ema_run, tmp_path):
  full, cut = as_run(ema_run, tmp_path / "full"), as_run(ema_run, tmp_path / "cut")
  for run in (full, cut):
    run.save()
  loop.train_stage(full, "stage1", progress=False)
  loop.train_stage(cut, "stage1", max_steps=3, progress=False)  # "killed" at 3
  loop.train_stage(cut, "stage1", progress=False)
  for weights in ("ema", "online"):
    want = full.params("stage1", which="last", weights=weights)
    got = cut.params("stage1", which="last", weights=weights)
    for a, b in zip(_leaves(want), _leaves(got)):
      np.testing.assert_array_equal(a, b)
  ema = full.params("stage1", which="last", weights="ema")
  online = full.params("stage1", which="last", weights="online")
  assert any(not np.array_equal(a, b) for a, b in zip(_leaves(ema["backbone"]),
                                                       _leaves(online["backbone"])))
  for group in ("tga", "m2p", "ke"):  # frozen in stage 1: no EMA, the online values
    for a, b in zip(_leaves(ema[group]), _leaves(online[group])):
      np.testing.assert_array_equal(a, b)
  assert full.default_weights == "ema"


def test_validation_scores_the_ema_weights(ema_run, tmp_path):
  run = as_run(with_overrides(ema_run, "train.eval_every=6"), tmp_path)
  run.save()
  loop.train_stage(run, "stage1", progress=False)
  with open(os.path.join(tmp_path, "logs", "stage1", "metrics.jsonl")) as f:
    scored = [r for r in map(json.loads, f) if "valid/loss" in r][-1]["valid/loss"]
  from srino_jax.training import validation
  validate = validation.make_validator(run, "stage1")
  ema = run.params("stage1", which="last", weights="ema")
  online = run.params("stage1", which="last", weights="online")
  assert validate(ema)["loss"] == pytest.approx(scored, rel=1e-6)
  assert validate(online)["loss"] != pytest.approx(scored, rel=1e-6)


def test_a_checkpoint_without_ema_resumes_with_the_ema_switched_on(tiny_run, ema_run,
                                                                   tmp_path):
  plain = with_overrides(tiny_run, "train.ema_decay=0.0")
  as_run(plain, tmp_path).save()
  loop.train_stage(as_run(plain, tmp_path), "stage1", max_steps=4, progress=False)
  with pytest.raises(Exception, match="holds no 'ema' weights"):
    as_run(plain, tmp_path).params("stage1", which="last", weights="ema")
  run = as_run(ema_run, tmp_path)
  loop.train_stage(run, "stage1", progress=False)  # resumes at 4, the EMA from step 4's
  ema = run.params("stage1", which="last", weights="ema")
  assert all(np.isfinite(x).all() for x in _leaves(ema))
  # And back: a checkpoint with an EMA resumes in a run without one (the EMA is not read).
  longer = with_overrides(plain, "train.stage1_steps=8")
  loop.train_stage(as_run(longer, tmp_path), "stage1", progress=False)
  assert as_run(longer, tmp_path).default_weights == "online"
