"""Tests of srino_jax.model.losses: the auxiliary and stage losses, stage-2 freezing (registry:
test_model_modes.py; parameter groups: test_model_denoiser.py; sampling:
test_model_sampling.py)."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax

from srino_jax.guidance import apply_kernel, kernel_prior
from srino_jax.model import aux_loss, make_predict_x0, noisy_residual, stage1_loss, stage2_loss
from srino_jax.training.optim import param_labels

from _tiny_model import BANDS, CFG, batch, params, perturb
from conftest import paper_optimizer


# ---- losses --------------------------------------------------------------------------------

def test_aux_loss_terms_match_formula_at_init(params, batch):
  loss, metrics = jax.jit(aux_loss, static_argnums=0)(CFG, params, batch)
  # Untrained f_M2P is the band mean; untrained f_KE is the generic MTF prior.
  m2p = jnp.mean(jnp.abs(jnp.mean(batch["gt"], -1, keepdims=True) - batch["pan"]))
  blurred = apply_kernel(batch["gt"], jnp.asarray(kernel_prior(BANDS, 11), jnp.float32))
  ke = jnp.mean(jnp.abs(blurred - batch["lms"]))
  np.testing.assert_allclose(float(metrics["m2p_l1"]), float(m2p), atol=1e-5)
  np.testing.assert_allclose(float(metrics["ke_l1"]), float(ke), atol=1e-5)
  np.testing.assert_allclose(float(loss), float(m2p + ke), atol=1e-5)


def test_stage2_step_freezes_backbone_m2p_ke(params, batch):
  labels = param_labels(params, "stage2")
  assert set(jax.tree.leaves(labels["tga"])) == {"train"}
  for group in ("backbone", "m2p", "ke"):
    assert set(jax.tree.leaves(labels[group])) == {"frozen"}
  opt = paper_optimizer("stage2", learning_rate=1e-3)

  @jax.jit
  def step(p, opt_state, key):
    (loss, metrics), grads = jax.value_and_grad(
        lambda q: stage2_loss(CFG, q, batch, key), has_aux=True)(p)
    updates, opt_state = opt.update(grads, opt_state, p)
    return optax.apply_updates(p, updates), metrics

  new, metrics = step(params, opt.init(params), jax.random.key(3))
  for group in ("backbone", "m2p", "ke"):
    for a, b in zip(jax.tree.leaves(params[group]), jax.tree.leaves(new[group])):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  moved = [bool(jnp.any(a != b)) for a, b in zip(jax.tree.leaves(params["tga"]),
                                                   jax.tree.leaves(new["tga"]))]
  assert sum(moved) > len(moved) // 2
  np.testing.assert_allclose(float(metrics["loss"]),
                             0.5 * float(metrics["l1_first"] + metrics["l1_self"]), rtol=1e-6)


def test_stage2_passes_are_the_samplers_first_and_next_step(params, batch):
  """Interface between the loss and the sampler, with residual_scale s = 10: pass 1 is
  predict_x0(x_t, t, 0) (Y_prev = L), pass 2 is predict_x0(x_t, t, pass-1 X0_hat)
  (Y_prev = L + X0_hat / s), and both L1s are in image units (/ s)."""
  cfg = dataclasses.replace(
      CFG, diffusion=dataclasses.replace(CFG.diffusion, residual_scale=10.0))
  trained = {**params, "tga": perturb(params["tga"], 1)}  # residual branches active
  key = jax.random.key(9)

  @jax.jit
  def both(p):
    _, metrics = stage2_loss(cfg, p, batch, key)
    x0, x_t, t = noisy_residual(cfg, batch["gt"], batch["lms"], key)
    predict = make_predict_x0(cfg, p, batch)
    first = predict(x_t, t, jnp.zeros_like(x_t))
    second = predict(x_t, t, first)
    return metrics, jnp.mean(jnp.abs(first - x0)) / 10.0, jnp.mean(jnp.abs(second - x0)) / 10.0

  metrics, l1_first, l1_self = both(trained)
  np.testing.assert_allclose(float(metrics["l1_first"]), float(l1_first), rtol=1e-5)
  np.testing.assert_allclose(float(metrics["l1_self"]), float(l1_self), rtol=1e-5)
  assert abs(float(l1_self) - float(l1_first)) > 1e-4 * float(l1_first)  # pass 2 differs


def test_stage1_steps_lower_the_loss(params, batch):
  opt = paper_optimizer("stage1", learning_rate=3e-3)
  eval_keys = jax.random.split(jax.random.key(7), 8)

  @jax.jit
  def eval_loss(p):
    return jnp.mean(jax.vmap(lambda k: stage1_loss(CFG, p, batch, k)[0])(eval_keys))

  @jax.jit
  def step(p, opt_state, key):
    grads = jax.grad(lambda q: stage1_loss(CFG, q, batch, key)[0])(p)
    updates, opt_state = opt.update(grads, opt_state, p)
    return optax.apply_updates(p, updates), opt_state

  p, opt_state = params, opt.init(params)
  before = float(eval_loss(p))
  for i in range(30):
    p, opt_state = step(p, opt_state, jax.random.fold_in(jax.random.key(1), i))
  after = float(eval_loss(p))
  assert after < 0.8 * before, (before, after)
