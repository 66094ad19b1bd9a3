"""The train and eval step factories (checkpoints: test_checkpoints.py)."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from _toy_state import toy_batch as _batch, toy_loss as _loss, toy_params as _params
from conftest import paper_optimizer
from srino_jax.training import optim
from srino_jax.training.state import TrainState, make_eval_step, make_train_step


def test_train_step_equals_a_hand_written_optax_update():
  params = _params()
  tx = paper_optimizer("stage2", learning_rate=1e-2)
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
  tx = paper_optimizer("stage1", learning_rate=1e-2)
  step = make_train_step(_loss, tx)
  traced = chex.assert_max_traces(n=1)(lambda s, b, k: _loss(s, b, k))
  step = make_train_step(traced, tx)
  state = TrainState.create(_params(), tx)
  for i in range(3):
    state, _ = step(state, _batch(), jax.random.PRNGKey(i))


def test_eval_step_is_the_train_steps_loss():
  params = _params()
  loss, metrics = make_eval_step(_loss)(params, _batch(), jax.random.PRNGKey(0))
  want = jnp.mean(jnp.abs(_batch()["x"] @ (params["backbone"]["w"] + params["tga"]["w"])
                          - _batch()["y"]))
  np.testing.assert_allclose(loss, want, rtol=1e-6)
  tx = paper_optimizer("stage2", learning_rate=1e-2)
  _, train_metrics = make_train_step(_loss, tx)(TrainState.create(params, tx), _batch(),
                                                jax.random.PRNGKey(0))
  np.testing.assert_allclose(train_metrics["loss"], loss, rtol=1e-6)
