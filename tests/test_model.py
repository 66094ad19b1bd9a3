"""Tests of srino_jax.model: config / registry, parameter groups, losses, freezing, sampling."""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import srino_jax.model.sampling as sampling_mod
from srino_jax.guidance import apply_kernel, consistency_loss, kernel_prior
from srino_jax.model import (GUIDANCE_MODES, ModelConfig, aux_loss, get_guidance_mode,
                             init_params, make_predict_x0, noisy_residual, sample, stage1_loss,
                             stage2_loss)
from srino_jax.sampler import ddim_sample
from srino_jax.schedule import cosine_alpha_bar
from srino_jax.training.optim import make_optimizer, param_labels

BANDS, SIZE = 4, 16
CFG = ModelConfig(bands=BANDS, width=8, depth=2, heads=2, adapter_width=8)
CFG_NONE = dataclasses.replace(CFG, guidance="none")
_jit_sample = jax.jit(sample, static_argnums=(0, 4))


def _batch(seed=0, b=2):
  """A smooth synthetic scene: gt, its blurred version as lms, the band mean as pan."""
  rng = np.random.default_rng(seed)
  yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
  phase = rng.random((b, 1, 1, BANDS)) * 6.0
  gt = 0.5 + 0.3 * np.sin(6.0 * xx[None, ..., None] + phase) * np.cos(5.0 * yy[None, ..., None])
  gt = gt + 0.05 * rng.standard_normal(gt.shape)
  gt = jnp.asarray(gt, jnp.float32)
  lms = apply_kernel(gt, jnp.asarray(kernel_prior(BANDS, 11), jnp.float32))
  return {"gt": gt, "lms": lms, "pan": jnp.mean(gt, axis=-1, keepdims=True),
          "ms": lms[:, 2::4, 2::4]}


def _perturb(tree, seed, scale=0.1):
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda p: p + jnp.asarray(scale * rng.standard_normal(p.shape), p.dtype),
                      tree)


def _none_params(params):
  """The "none"-mode tree: the "both" tree without the residual branches."""
  tga = {k: (v if not k.startswith("layers_") else {n: v[n] for n in ("fuse_f", "fuse_v")})
         for k, v in params["tga"].items()}
  return {**params, "tga": tga}


@pytest.fixture(scope="module")
def params():
  return init_params(CFG, jax.random.key(0), pan_size=SIZE)


@pytest.fixture(scope="module")
def batch():
  return _batch()


# ---- configuration and registry ------------------------------------------------------------

def test_guidance_registry_rejects_unknown_name_listing_known():
  with pytest.raises(ValueError) as err:
    get_guidance_mode("residual")
  for name in ("none", "spatial", "spectral", "both", "gradient"):
    assert name in str(err.value)
  with pytest.raises(ValueError, match="gradient"):
    ModelConfig(bands=4, guidance="bogus")
  with pytest.raises(ValueError, match="galerkin"):
    ModelConfig(bands=4, backbone="unet")
  with pytest.raises(ValueError, match="bands"):
    ModelConfig(bands=4, sensor="WV3")
  table = {n: (m.spatial, m.spectral, m.uses_residuals) for n, m in GUIDANCE_MODES.items()}
  assert table == {"none": (False, False, False), "spatial": (True, False, True),
                   "spectral": (False, True, True), "both": (True, True, True),
                   "gradient": (False, False, False)}
  assert hash(CFG) == hash(dataclasses.replace(CFG))  # usable as a jit static argument


def test_init_params_groups(params):
  assert set(params) == {"backbone", "tga", "m2p", "ke"}
  for leaf in jax.tree.leaves(params):
    assert leaf.dtype == jnp.float32
  chex.assert_tree_all_finite(params)
  # The "none" tree is the "both" tree minus the residual branches (shapes via eval_shape).
  none_shapes = jax.eval_shape(lambda k: init_params(CFG_NONE, k, SIZE), jax.random.key(0))
  assert (jax.tree.structure(none_shapes) == jax.tree.structure(_none_params(params)))


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
  opt = make_optimizer("stage2", learning_rate=1e-3)

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
  cfg = dataclasses.replace(CFG, residual_scale=10.0)
  trained = {**params, "tga": _perturb(params["tga"], 1)}  # residual branches active
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


def test_untrained_tga_is_the_stage1_denoiser_with_condition_l(params, batch):
  """Stage 2 starts from stage 1: with zero-initialised injections and H^ head, H^ = L and
  every adapter is the identity, so the stage-2 denoiser equals G(X_t, L, t) exactly
  (whatever Y_prev is)."""
  from srino_jax.model import SRINO

  cfg, p = CFG, params
  x_t = jnp.asarray(np.random.default_rng(8).standard_normal(batch["lms"].shape), jnp.float32)
  t = jnp.array([30, 420], jnp.int32)

  @jax.jit
  def both(p):
    model, v = SRINO(cfg), {"params": p}
    conds = model.apply(v, batch["pan"], batch["lms"], method=SRINO.conditions)
    two = model.apply(v, x_t, t, batch["pan"], batch["lms"], batch["gt"], conds,
                      method=SRINO.denoise_stage2)
    one = model.apply(v, x_t, batch["lms"], t, batch["lms"], method=SRINO.denoise_stage1)
    return conds["hhat"], two, one

  hhat, two, one = both(p)
  np.testing.assert_array_equal(np.asarray(hhat), np.asarray(batch["lms"]))
  np.testing.assert_allclose(np.asarray(two), np.asarray(one), rtol=1e-6, atol=1e-6)


def test_stage1_steps_lower_the_loss(params, batch):
  opt = make_optimizer("stage1", learning_rate=3e-3)
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


# ---- sampling ------------------------------------------------------------------------------

def _predict(cfg, p, batch, x_t, x0_prev):
  return make_predict_x0(cfg, p, batch)(x_t, jnp.int32(250), x0_prev)


_jit_predict = jax.jit(_predict, static_argnums=0)


def test_predict_x0_none_ignores_x0_prev_both_does_not(params, batch):
  trained = {**params, "tga": _perturb(params["tga"], 1)}  # wake the zero-initialised layers
  x_t = jnp.asarray(np.random.default_rng(2).standard_normal(batch["lms"].shape), jnp.float32)
  x0_a = jnp.zeros_like(x_t)
  x0_b = batch["gt"] - batch["lms"] + 0.2
  none = _none_params(trained)
  out_a = _jit_predict(CFG_NONE, none, batch, x_t, x0_a)
  out_b = _jit_predict(CFG_NONE, none, batch, x_t, x0_b)
  np.testing.assert_array_equal(np.asarray(out_a), np.asarray(out_b))
  out_a = _jit_predict(CFG, trained, batch, x_t, x0_a)
  out_b = _jit_predict(CFG, trained, batch, x_t, x0_b)
  assert float(jnp.abs(out_a - out_b).max()) > 1e-4


def test_gradient_mode_corrects_the_static_estimate(params, batch):
  none = _none_params({**params, "tga": _perturb(params["tga"], 1)})
  cfg_grad = dataclasses.replace(CFG, guidance="gradient", gradient_weight=0.5)
  x_t = jnp.asarray(np.random.default_rng(4).standard_normal(batch["lms"].shape), jnp.float32)
  x0_prev = jnp.zeros_like(x_t)
  plain = _jit_predict(CFG_NONE, none, batch, x_t, x0_prev)
  guided = _jit_predict(cfg_grad, none, batch, x_t, x0_prev)
  # At init f_M2P is the band mean and f_KE the generic prior (checked in test_aux_loss...).
  kernels = jnp.broadcast_to(jnp.asarray(kernel_prior(BANDS, 11), jnp.float32),
                             (2, 11, 11, BANDS))
  m2p = lambda img: jnp.mean(img, -1, keepdims=True)
  loss = lambda x0: float(consistency_loss(x0, batch["pan"], batch["lms"], m2p, kernels))
  assert float(jnp.abs(guided - plain).max()) > 0
  assert loss(guided) < loss(plain)


def test_sample_jit_equals_eager_and_is_a_function_of_x_T(params, batch):
  key = jax.random.key(11)
  trained = {**params, "tga": _perturb(params["tga"], 1)}
  y_jit = _jit_sample(CFG, trained, batch, key, 5, 0.0)
  y_eager = sample(CFG, trained, batch, key, num_steps=5, eta=0.0)
  chex.assert_shape(y_jit, batch["lms"].shape)
  np.testing.assert_allclose(np.asarray(y_jit), np.asarray(y_eager), rtol=1e-5, atol=1e-5)
  # eta = 0: the key enters only through x_T = N(0, 1) from split(key)[0].
  x_T = jax.random.normal(jax.random.split(key)[0], batch["lms"].shape)
  ref = batch["lms"] + ddim_sample(make_predict_x0(CFG, trained, batch), x_T,
                                   cosine_alpha_bar(500), num_steps=5)
  np.testing.assert_allclose(np.asarray(y_eager), np.asarray(ref), rtol=1e-5, atol=1e-5)
  other = _jit_sample(CFG, trained, batch, jax.random.key(12), 5, 0.0)
  assert float(jnp.abs(other - y_jit).max()) > 1e-4


def test_sample_vmaps_over_keys(params, batch):
  keys = jax.random.split(jax.random.key(5), 2)
  many = jax.jit(jax.vmap(lambda k: sample(CFG, params, batch, k, 5)))(keys)
  one = _jit_sample(CFG, params, batch, keys[1], 5, 0.0)
  np.testing.assert_allclose(np.asarray(many[1]), np.asarray(one), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_sample_with_oracle_denoiser_returns_the_reference(monkeypatch, batch, scale):
  cfg = dataclasses.replace(CFG, residual_scale=scale)
  x0 = scale * (batch["gt"] - batch["lms"])  # the diffusion runs on s (H - L)
  monkeypatch.setattr(sampling_mod, "make_predict_x0",
                      lambda cfg, params, b: (lambda x_t, t, x0_prev: x0))
  y = sampling_mod.sample(cfg, None, batch, jax.random.key(0), num_steps=7)
  np.testing.assert_allclose(np.asarray(y), np.asarray(batch["gt"]), rtol=1e-6, atol=1e-6)


def test_condition_lms_feeds_l_to_the_backbone(batch):
  """With condition_lms the stage-1 prediction depends on L; without it, it does not."""
  from srino_jax.model import SRINO

  x_t = jnp.asarray(np.random.default_rng(6).standard_normal(batch["lms"].shape), jnp.float32)
  t = jnp.array([10, 400], jnp.int32)
  other_lms = batch["lms"] + 0.3
  for cond_lms in (False, True):
    cfg = dataclasses.replace(CFG, condition_lms=cond_lms, guidance="none")
    p = init_params(cfg, jax.random.key(1), SIZE)
    f = jax.jit(lambda p, l, cfg=cfg: SRINO(cfg).apply(
        {"params": p}, x_t, batch["gt"], t, l, method=SRINO.denoise_stage1))
    changed = float(jnp.abs(f(p, batch["lms"]) - f(p, other_lms)).max())
    assert (changed > 1e-4) == cond_lms, (cond_lms, changed)
