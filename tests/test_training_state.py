"""Train step factory, checkpoint round trips and best-checkpoint selection."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from srino_jax.training import checkpoint, optim
from srino_jax.training.state import TrainState, make_train_step


def _params(key=0):
  k1, k2 = jax.random.split(jax.random.PRNGKey(key))
  return {"backbone": {"w": jax.random.normal(k1, (3, 2))},
          "tga": {"w": jax.random.normal(k2, (3, 2))}, "m2p": {}, "ke": {}}


def _loss(params, batch, key):
  pred = batch["x"] @ (params["backbone"]["w"] + params["tga"]["w"])
  noise = 0.0 * jax.random.normal(key, ())
  loss = jnp.mean(jnp.abs(pred - batch["y"])) + noise
  return loss, {"l1": loss}


def _batch():
  x = jnp.arange(12.0).reshape(4, 3) / 10
  return {"x": x, "y": jnp.ones((4, 2))}


def test_train_step_equals_a_hand_written_optax_update():
  params = _params()
  tx = optim.make_optimizer("stage2", learning_rate=1e-2)
  state = TrainState.create(params, tx)
  grads = jax.grad(lambda p: _loss(p, _batch(), jax.random.PRNGKey(0))[0])(params)
  updates, _ = tx.update(grads, tx.init(params), params)
  want = optax.apply_updates(params, updates)
  frozen_before = np.asarray(params["backbone"]["w"])  # the step donates `state`
  step = make_train_step(_loss, tx, optim.param_labels(params, "stage2"))
  new, metrics = step(state, _batch(), jax.random.PRNGKey(0))
  chex.assert_trees_all_close(new.params, want)
  assert int(new.step) == 1
  # Only the trained group enters the reported gradient norm.
  np.testing.assert_allclose(metrics["grad_norm"], optax.tree.norm(grads["tga"]), rtol=1e-6)
  np.testing.assert_array_equal(new.params["backbone"]["w"], frozen_before)


def test_train_step_compiles_once():
  tx = optim.make_optimizer("stage1", learning_rate=1e-2)
  step = make_train_step(_loss, tx)
  traced = chex.assert_max_traces(n=1)(lambda s, b, k: _loss(s, b, k))
  step = make_train_step(traced, tx)
  state = TrainState.create(_params(), tx)
  for i in range(3):
    state, _ = step(state, _batch(), jax.random.PRNGKey(i))


def test_checkpoint_round_trip_is_exact(tmp_path):
  tx = optim.make_optimizer("stage1", learning_rate=1e-2)
  step = make_train_step(_loss, tx)
  state = TrainState.create(_params(), tx)
  for i in range(2):
    state, _ = step(state, _batch(), jax.random.PRNGKey(i))
  ckpts = checkpoint.StageCheckpoints(str(tmp_path / "stage1"), keep=2)
  ckpts.save(2, state, {"stage": "stage1", "step": 2})
  ckpts.close()
  template = TrainState.create(_params(key=7), tx)  # different values, same structure
  ckpts = checkpoint.StageCheckpoints(str(tmp_path / "stage1"), keep=2)
  restored, meta = ckpts.restore(template)
  ckpts.close()
  assert meta == {"stage": "stage1", "step": 2}
  assert jax.tree.structure(restored) == jax.tree.structure(state)
  for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_keeps_last_few_and_the_best(tmp_path):
  tx = optim.make_optimizer("stage1")
  state = TrainState.create(_params(), tx)
  ckpts = checkpoint.StageCheckpoints(str(tmp_path / "s"), keep=2, best_mode="max")
  for step, score in [(1, 0.5), (2, 0.9), (3, 0.7), (4, 0.6)]:
    ckpts.save(step, state, {"step": step}, score=score)
  ckpts.wait()
  assert ckpts.latest_step() == 4
  assert ckpts.best_step() == 2
  assert sorted(ckpts._last.all_steps()) == [3, 4]
  ckpts.close()


def test_missing_checkpoint_is_a_clear_error(tmp_path):
  ckpts = checkpoint.StageCheckpoints(str(tmp_path / "none"))
  with pytest.raises(FileNotFoundError, match="no checkpoint"):
    ckpts.restore(TrainState.create(_params(), optim.make_optimizer("stage1")))
  ckpts.close()
