"""The stage registry: SRINO's records, and a toy "fusion" stage registered from outside (as
the learned baselines will be) that trains, validates, checkpoints and fuses through the
same loop, optimizer, validation and inference as SRINO's stages; PNN and FusionNet as
such stages: registered, trained through the loop and the stage's optimizer, validated by
fusion (Q2n), and shown in the comparison tables beside SRINO."""

import dataclasses
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srino_jax import inference, model as srino, learned
from srino_jax.training import loop, run as runs, stages, validation, optim
from srino_jax.training.state import TrainState, make_train_step

from conftest import with_overrides, as_run


def test_srino_stages_are_registered_in_order():
  assert list(stages.STAGES)[:3] == list(stages.SRINO_STAGES) == ["aux", "stage1", "stage2"]
  aux, s1, s2 = (stages.get_stage(n) for n in stages.SRINO_STAGES)
  assert (aux.loss, s1.loss, s2.loss) == (srino.aux_loss, srino.stage1_loss, srino.stage2_loss)
  assert [s.validation for s in (aux, s1, s2)] == ["loss", "loss", "fusion"]
  assert [s.higher_is_better for s in (aux, s1, s2)] == [False, False, True]
  assert dict(s2.inherits) == {"aux": ("m2p", "ke"), "stage1": ("backbone",)}
  assert s2.fuse is srino.sample and aux.fuse is None
  # Fixed stream ids, the registry positions they had before: the training keys of runs
  # made before issue 15 did not move.
  assert [stages.get_stage(n).stream for n in (*stages.SRINO_STAGES, *stages.LEARNED_STAGES)
          ] == [1, 2, 3, 4, 5]
  assert [stages.get_stage(n).label for n in ("stage2", "pnn", "fusionnet")] == [
      "SRINO", "PNN", "FusionNet"]


def test_registry_errors_are_named():
  with pytest.raises(ValueError, match="unknown stage 'stage3'; known stages: aux, stage1"):
    stages.get_stage("stage3")
  with pytest.raises(ValueError, match="already registered"):
    stages.register_stage(stages.get_stage("aux"))
  with pytest.raises(ValueError, match="needs `fuse`"):
    dataclasses.replace(stages.get_stage("stage2"), fuse=None)
  # (The learned baselines "pnn" / "fusionnet" are registered now: an unregistered name.)
  with pytest.raises(ValueError, match="unregistered stages \\['nope'\\]"):
    stages.register_stage(dataclasses.replace(stages.get_stage("stage2"), name="x", stream=98,
                                              inherits={"nope": ("nope",)}))
  # A stream id is a stage's for good: another stage cannot take it (its keys would repeat).
  with pytest.raises(ValueError, match="random stream 3 is stage 'stage2'"):
    stages.register_stage(dataclasses.replace(stages.get_stage("stage2"), name="x"))


# ---- a toy learned baseline: a 1x1 convolution on L ---------------------------------------

def _toy_init(cfg, key, pan_size):
  del key, pan_size
  return {"toy": {"w": jnp.eye(cfg.bands, dtype=jnp.float32),
                  "b": jnp.zeros((cfg.bands,), jnp.float32)}}


def _toy_fuse(cfg, params, batch, key, num_steps, eta):
  del cfg, key, num_steps, eta
  return jnp.asarray(batch["lms"]) @ params["toy"]["w"] + params["toy"]["b"]


def _toy_loss(cfg, params, batch, key):
  l1 = jnp.mean(jnp.abs(_toy_fuse(cfg, params, batch, key, 0, 0.0) - batch["gt"]))
  return l1, {"loss": l1}


TOY = stages.Stage("toy", 99, _toy_loss, trains=("toy",), init=_toy_init, validation="fusion",
                   higher_is_better=True, fuse=_toy_fuse)


def test_a_registered_fusion_stage_trains_validates_and_fuses(tiny_run, tmp_path, monkeypatch):
  monkeypatch.setitem(stages.STAGES, "toy", TOY)
  config = with_overrides(tiny_run, "train.eval_every=2", "optim.learning_rate=1e-2")
  with config.train.unlocked():
    config.train.toy_steps = 6
  workdir = str(tmp_path)
  loop.train(as_run(config, workdir), stages=("toy",), progress=False)
  last = as_run(config, workdir).params("toy", which="last")
  best = as_run(config, workdir).params("toy", which="best")
  assert set(last) == {"toy"}
  assert not np.array_equal(np.asarray(last["toy"]["w"]), np.eye(4))  # it trained
  # Validation scored the toy's own fusion with Q2n: recompute it for the best step.
  with open(os.path.join(workdir, "logs", "toy", "metrics.jsonl")) as f:
    valid = [r for r in map(json.loads, f) if "valid/score" in r]
  assert [r["step"] for r in valid] == [2, 4, 6]
  data = inference.read_input(as_run(config).data_path("valid"), "qb",
                               limit=config.train.eval_examples)[0]
  want = validation.score_fusion(_toy_fuse(None, best, data, None, 0, 0.0), data["gt"], "qb")
  best_row = max(valid, key=lambda r: r["valid/score"])
  np.testing.assert_allclose(best_row["valid/Q2n"], want["Q2n"], rtol=1e-5)
  np.testing.assert_allclose(best_row["valid/score"], want["Q2n"], rtol=1e-5)
  # Inference loads the stage and fuses with its record's `fuse`: L @ w + b by hand.
  run = inference.Run.load(workdir, stage="toy")
  params = run.params()
  test = inference.read_input(as_run(config).data_path("test"), "qb")[0]
  fused, std = inference.fuse_scenes(inference.make_fuser(run, params), test,
                                     jax.random.key(0))
  w, b = np.asarray(best["toy"]["w"]), np.asarray(best["toy"]["b"])
  np.testing.assert_allclose(fused, test["lms"] @ w + b, rtol=1e-5, atol=1e-6)
  assert np.all(std == 0)


@pytest.mark.parametrize("name", ["pnn", "fusionnet"])
def test_learned_baselines_are_registered_stages(name):
  record = stages.get_stage(name)
  init, loss, fuse = learned.LEARNED[name]
  assert (record.init, record.loss, record.fuse) == (init, loss, fuse)
  assert record.trains == (name,) and dict(record.inherits) == {}
  assert record.validation == "fusion" and record.higher_is_better
  assert list(stages.STAGES)[:3] == list(stages.SRINO_STAGES)
  assert stages.LEARNED_STAGES == ("pnn", "fusionnet")


@pytest.mark.parametrize("name", ["pnn", "fusionnet"])
def test_a_few_steps_lower_the_loss_on_a_fixed_batch(tiny_run, name):
  config = with_overrides(tiny_run, "optim.learning_rate=1e-3")
  cfg = runs.model_config(config)
  record = stages.get_stage(name)
  params = record.init(cfg, jax.random.PRNGKey(0), 16)
  tx = optim.stage_optimizer(config, name)
  step = make_train_step(record.bind_loss(cfg), tx, optim.param_labels(params, name))
  rng = np.random.default_rng(0)
  lms = rng.uniform(0.2, 0.6, (4, 16, 16, 4)).astype(np.float32)
  pan = lms.mean(-1, keepdims=True) + rng.normal(0, 0.02, (4, 16, 16, 1)).astype(np.float32)
  batch = {"lms": lms, "pan": pan, "ms": lms[:, 2::4, 2::4],
           "gt": lms + 0.5 * (pan - lms.mean(-1, keepdims=True))}
  before = float(record.loss(cfg, params, batch, None)[0])
  state = TrainState.create(params, tx)
  for i in range(25):
    state, _ = step(state, batch, jax.random.PRNGKey(i))
  after = float(record.loss(cfg, state.params, batch, None)[0])
  assert after < 0.7 * before, (before, after)


def test_trained_baselines_join_the_comparison_table(tiny_run, tmp_path):
  config = with_overrides(tiny_run, "train.eval_every=2", "optim.learning_rate=1e-3")
  with config.train.unlocked():
    config.train.pnn_steps = 4
    config.train.fusionnet_steps = 2
  workdir = str(tmp_path / "run")
  assert inference.learned_stages(as_run(config, workdir)) == []
  loop.train(as_run(config, workdir), stages=("pnn", "fusionnet"), progress=False)
  run = inference.Run.load(workdir)
  assert inference.learned_stages(run) == ["pnn", "fusionnet"]
  data = inference.read_input(as_run(config).data_path("test"), "qb")[0]
  others = inference.learned_fusions(run, data)
  assert list(others) == ["PNN", "FusionNet"]
  cfg = runs.model_config(config)
  best = as_run(config, workdir).params("pnn", which="best")
  np.testing.assert_allclose(others["PNN"], learned.pnn_fuse(cfg, best, data),
                             rtol=1e-5, atol=1e-6)
  rows = inference.comparison_rows(data, data["lms"], "qb", methods=("exp",), label="L",
                                   others=others)
  assert [r["method"] for r in rows] == ["EXP", "PNN", "FusionNet", "L"]
  want = validation.score_fusion(others["FusionNet"], data["gt"], "qb")
  np.testing.assert_allclose(rows[2]["mean"]["Q2n"], want["Q2n"], rtol=1e-6)
  # `all_stages` adds the baselines a config lists, after SRINO's stages.
  with config.train.unlocked():
    config.train.baselines = "fusionnet, pnn"
  assert loop.all_stages(as_run(config)) == ("aux", "stage1", "stage2", "fusionnet", "pnn")
  with config.train.unlocked():
    config.train.baselines = "pnnx"
  with pytest.raises(ValueError, match="unknown stage 'pnnx'"):
    loop.all_stages(as_run(config))
