"""The stage optimizers: labels, the step-decay schedule, and that frozen groups stay put."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from srino_jax.training import optim


def _params():
  leaf = lambda s: jnp.full((3,), s, jnp.float32)  # noqa: E731
  return {g: {"dense": {"kernel": leaf(i + 1.0), "bias": leaf(-i - 1.0)}}
          for i, g in enumerate(("backbone", "tga", "m2p", "ke"))}


@pytest.mark.parametrize("stage", sorted(optim.STAGE_TRAINABLE))
def test_labels_follow_the_stage_table(stage):
  labels = optim.param_labels(_params(), stage)
  for group, sub in labels.items():
    want = "train" if group in optim.STAGE_TRAINABLE[stage] else "frozen"
    assert set(jax.tree.leaves(sub)) == {want}


def test_unknown_stage_and_missing_group_are_named():
  with pytest.raises(ValueError, match="stage3"):
    optim.param_labels(_params(), "stage3")
  with pytest.raises(ValueError, match="tga"):
    optim.param_labels({"backbone": {}}, "stage2")


def test_lr_halves_every_decay_period():
  sched = optim.lr_schedule(4e-5, 10_000, 0.5)
  np.testing.assert_allclose([sched(0), sched(9_999), sched(10_000), sched(25_000)],
                             [4e-5, 4e-5, 2e-5, 1e-5], rtol=1e-6)


@pytest.mark.parametrize("stage", sorted(optim.STAGE_TRAINABLE))
def test_one_step_moves_only_trainable_groups(stage):
  params = _params()
  tx = optim.make_optimizer(stage, learning_rate=1e-2)
  state = tx.init(params)
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = tx.update(grads, state, params)
  new = optax.apply_updates(params, updates)
  for group in params:
    moved = [not np.array_equal(a, b) for a, b in
             zip(jax.tree.leaves(params[group]), jax.tree.leaves(new[group]))]
    assert all(moved) if group in optim.STAGE_TRAINABLE[stage] else not any(moved), group
