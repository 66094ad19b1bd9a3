"""The stage optimizers: labels, the step-decay schedule, that frozen groups stay put, and
that gradient clipping changes the update but not the optimizer state's structure."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from conftest import paper_config, paper_optimizer
from srino_jax.training import optim, stages

SRINO = stages.SRINO_STAGES


def _params():
  leaf = lambda s: jnp.full((3,), s, jnp.float32)  # noqa: E731
  return {g: {"dense": {"kernel": leaf(i + 1.0), "bias": leaf(-i - 1.0)}}
          for i, g in enumerate(("backbone", "tga", "m2p", "ke"))}


@pytest.mark.parametrize("stage", sorted(SRINO))
def test_labels_follow_the_stage_table(stage):
  labels = optim.param_labels(_params(), stage)
  for group, sub in labels.items():
    want = "train" if group in stages.get_stage(stage).trains else "frozen"
    assert set(jax.tree.leaves(sub)) == {want}


def test_the_stage_table_is_the_papers():
  assert {s: stages.get_stage(s).trains for s in SRINO} == {
      "aux": ("m2p", "ke"), "stage1": ("backbone",), "stage2": ("tga",)}


def test_unknown_stage_and_missing_group_are_named():
  with pytest.raises(ValueError, match="stage3"):
    optim.param_labels(_params(), "stage3")
  with pytest.raises(ValueError, match="tga"):
    optim.param_labels({"backbone": {}}, "stage2")


def test_lr_halves_every_decay_period():
  sched = optim.lr_schedule(4e-5, 10_000, 0.5)
  np.testing.assert_allclose([sched(0), sched(9_999), sched(10_000), sched(25_000)],
                             [4e-5, 4e-5, 2e-5, 1e-5], rtol=1e-6)


def test_stage_optimizer_reads_the_config():
  """The paper's schedule from configs/base.py: the first update of AdamW is -lr * sign(g)
  (bias-corrected moments of one gradient), decay 0.01 * lr * param on top."""
  config = paper_config()
  tx = optim.stage_optimizer(config, "stage1")
  params = _params()
  updates, _ = tx.update(jax.tree.map(jnp.ones_like, params), tx.init(params), params)
  lr, wd = config.optim.learning_rate, config.optim.weight_decay
  want = -lr * (1.0 + wd * np.asarray(params["backbone"]["dense"]["kernel"]))
  np.testing.assert_allclose(updates["backbone"]["dense"]["kernel"], want, rtol=1e-4)


@pytest.mark.parametrize("stage", sorted(SRINO))
def test_one_step_moves_only_trainable_groups(stage):
  params = _params()
  tx = paper_optimizer(stage, learning_rate=1e-2)
  state = tx.init(params)
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = tx.update(grads, state, params)
  new = optax.apply_updates(params, updates)
  for group in params:
    moved = [not np.array_equal(a, b) for a, b in
             zip(jax.tree.leaves(params[group]), jax.tree.leaves(new[group]))]
    assert all(moved) if group in stages.get_stage(stage).trains else not any(moved), group


def test_grad_clip_clips_and_keeps_the_state_structure():
  params = _params()
  grads = jax.tree.map(lambda p: 100.0 * jnp.ones_like(p), params)
  plain = paper_optimizer("stage1", learning_rate=1e-2, weight_decay=0.0)
  clipped = paper_optimizer("stage1", learning_rate=1e-2, weight_decay=0.0, grad_clip=1.0)
  # Same state tree, so a run resumes after switching clipping on (the NaN guard's advice).
  assert (jax.tree.structure(plain.init(params)) == jax.tree.structure(clipped.init(params)))
  _, s_plain = plain.update(grads, plain.init(params), params)
  _, s_clip = clipped.update(grads, clipped.init(params), params)
  # Adam's first moment after one step is (1 - b1) g: g of norm sqrt(6) * 100, clipped to 1.
  mu = lambda s: np.concatenate([np.ravel(x) for x in jax.tree.leaves(  # noqa: E731
      [t.mu for t in jax.tree.leaves(s, is_leaf=lambda t: hasattr(t, "mu"))
       if hasattr(t, "mu")])])
  norm = lambda v: float(np.linalg.norm(v))  # noqa: E731
  np.testing.assert_allclose(norm(mu(s_plain)), 0.1 * 100 * np.sqrt(6), rtol=1e-5)
  np.testing.assert_allclose(norm(mu(s_clip)), 0.1 * 1.0, rtol=1e-5)
