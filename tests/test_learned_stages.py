"""PNN and FusionNet as training stages: registered, trained through the loop and the stage's
optimizer, validated by fusion (Q2n), and shown in the comparison tables beside SRINO."""

import os

import jax
import numpy as np
import pytest

from conftest import with_overrides, as_run
from srino_jax import inference, learned
from srino_jax.training import loop, optim, run as runs, stages, validation
from srino_jax.training.state import TrainState, make_train_step


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
