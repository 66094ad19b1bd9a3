"""Stage checkpoints: exact round trips, last few and best kept, parameters read alone."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _toy_state import toy_batch as _batch, toy_loss as _loss, toy_params as _params
from conftest import paper_optimizer
from srino_jax import checkpoints
from srino_jax.training.state import TrainState, make_train_step


def test_checkpoint_round_trip_is_exact(tmp_path):
  tx = paper_optimizer("stage1", learning_rate=1e-2)
  step = make_train_step(_loss, tx)
  state = TrainState.create(_params(), tx)
  for i in range(2):
    state, _ = step(state, _batch(), jax.random.PRNGKey(i))
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "stage1"), keep=2)
  ckpts.save(2, state, {"stage": "stage1", "step": 2})
  ckpts.close()
  template = TrainState.create(_params(key=7), tx)  # different values, same structure
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "stage1"), keep=2)
  restored, meta = ckpts.restore(template)
  ckpts.close()
  assert meta == {"stage": "stage1", "step": 2}
  assert jax.tree.structure(restored) == jax.tree.structure(state)
  for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_keeps_last_few_and_the_best(tmp_path):
  tx = paper_optimizer("stage1")
  state = TrainState.create(_params(), tx)
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "s"), keep=2, best_mode="max")
  for step, score in [(1, 0.5), (2, 0.9), (3, 0.7), (4, 0.6)]:
    ckpts.save(step, state, {"step": step}, score=score)
  ckpts.wait()
  assert ckpts.latest_step() == 4
  assert ckpts.best_step() == 2
  assert sorted(ckpts._last.all_steps()) == [3, 4]
  ckpts.close()


def test_missing_checkpoint_is_a_clear_error(tmp_path):
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "none"))
  with pytest.raises(FileNotFoundError, match="no checkpoint"):
    ckpts.restore(TrainState.create(_params(), paper_optimizer("stage1")))
  ckpts.close()


def test_restore_params_reads_the_parameters_alone(tmp_path):
  tx = paper_optimizer("stage1", learning_rate=1e-2, grad_clip=1.0)
  step = make_train_step(_loss, tx)
  state = TrainState.create(_params(), tx)
  for i in range(3):
    state, _ = step(state, _batch(), jax.random.PRNGKey(i))
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "s"), keep=2, best_mode="min")
  ckpts.save(3, state, {"step": 3}, score=0.5)
  ckpts.close()
  # No optimizer needed: a template of the parameters (or of some groups) is enough.
  abstract = jax.eval_shape(lambda: _params(key=7))
  for which in ("last", "best"):
    got = checkpoints.restore_params(str(tmp_path / "s"), abstract, which=which)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(state.params)):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  part = checkpoints.restore_params(str(tmp_path / "s"), {"tga": abstract["tga"]})
  assert set(part) == {"tga"}
  np.testing.assert_array_equal(np.asarray(part["tga"]["w"]), np.asarray(state.params["tga"]["w"]))
  with pytest.raises(FileNotFoundError, match="at step 2"):
    checkpoints.restore_params(str(tmp_path / "s"), abstract, step=2)
  with pytest.raises(FileNotFoundError, match="no checkpoint"):
    checkpoints.restore_params(str(tmp_path / "none"), abstract)
