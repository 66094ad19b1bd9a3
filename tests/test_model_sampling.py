"""Tests of srino_jax.model.sampling: the per-step denoiser closure and the DDIM sampler."""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import srino_jax.model.sampling as sampling_mod
from _tiny_model import BANDS, CFG, CFG_NONE, SIZE, batch, none_params, params, perturb  # noqa: F401
from srino_jax.guidance import consistency_loss, kernel_prior
from srino_jax.model import init_params, make_predict_x0, sample
from srino_jax.noise import positional_noise_fn
from srino_jax.sampler import ddim_sample
from srino_jax.schedule import cosine_alpha_bar

_jit_sample = jax.jit(sample, static_argnums=(0, 4))


# ---- sampling ------------------------------------------------------------------------------

def _predict(cfg, p, batch, x_t, x0_prev):
  return make_predict_x0(cfg, p, batch)(x_t, jnp.int32(250), x0_prev)


_jit_predict = jax.jit(_predict, static_argnums=0)


def test_predict_x0_none_ignores_x0_prev_both_does_not(params, batch):
  trained = {**params, "tga": perturb(params["tga"], 1)}  # wake the zero-initialised layers
  x_t = jnp.asarray(np.random.default_rng(2).standard_normal(batch["lms"].shape), jnp.float32)
  x0_a = jnp.zeros_like(x_t)
  x0_b = batch["gt"] - batch["lms"] + 0.2
  none = none_params(trained)
  out_a = _jit_predict(CFG_NONE, none, batch, x_t, x0_a)
  out_b = _jit_predict(CFG_NONE, none, batch, x_t, x0_b)
  np.testing.assert_array_equal(np.asarray(out_a), np.asarray(out_b))
  out_a = _jit_predict(CFG, trained, batch, x_t, x0_a)
  out_b = _jit_predict(CFG, trained, batch, x_t, x0_b)
  assert float(jnp.abs(out_a - out_b).max()) > 1e-4


def test_gradient_mode_corrects_the_static_estimate(params, batch):
  none = none_params({**params, "tga": perturb(params["tga"], 1)})
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
  trained = {**params, "tga": perturb(params["tga"], 1)}
  y_jit = _jit_sample(CFG, trained, batch, key, 5, 0.0)
  y_eager = sample(CFG, trained, batch, key, num_steps=5, eta=0.0)
  chex.assert_shape(y_jit, batch["lms"].shape)
  # float32 reassociation under jit (the stem's convolutions): tolerance relative to the
  # output's magnitude, which the perturbed adapters blow up to ~10.
  scale = float(np.abs(np.asarray(y_eager)).max())
  np.testing.assert_allclose(np.asarray(y_jit), np.asarray(y_eager), rtol=1e-5,
                             atol=1e-5 * max(scale, 1.0))
  # eta = 0: the key enters only through x_T = N(0, 1) from split(key)[0].
  x_T = jax.random.normal(jax.random.split(key)[0], batch["lms"].shape)
  ref = batch["lms"] + ddim_sample(make_predict_x0(CFG, trained, batch), x_T,
                                   cosine_alpha_bar(500), num_steps=5)
  np.testing.assert_allclose(np.asarray(y_eager), np.asarray(ref), rtol=1e-5, atol=1e-5)
  other = _jit_sample(CFG, trained, batch, jax.random.key(12), 5, 0.0)
  assert float(jnp.abs(other - y_jit).max()) > 1e-4


def test_sample_vmaps_over_keys(params, batch):
  keys = jax.random.split(jax.random.key(5), 2)
  many = jax.jit(jax.vmap(lambda k: sample(CFG, params, batch, k, 5, 0.0)))(keys)
  one = _jit_sample(CFG, params, batch, keys[1], 5, 0.0)
  np.testing.assert_allclose(np.asarray(many[1]), np.asarray(one), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_sample_with_oracle_denoiser_returns_the_reference(monkeypatch, batch, scale):
  cfg = dataclasses.replace(
      CFG, diffusion=dataclasses.replace(CFG.diffusion, residual_scale=scale))
  x0 = scale * (batch["gt"] - batch["lms"])  # the diffusion runs on s (H - L)
  monkeypatch.setattr(sampling_mod, "make_predict_x0",
                      lambda cfg, params, b: (lambda x_t, t, x0_prev: x0))
  y = sampling_mod.sample(cfg, None, batch, jax.random.key(0), num_steps=7, eta=0.0)
  np.testing.assert_allclose(np.asarray(y), np.asarray(batch["gt"]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("eta", [0.0, 0.5])
def test_sample_with_origin_runs_ddim_from_positional_noise(params, batch, eta):
  """With "origin", x_T and the per-step z are the positional fields of (key_T, key_eta),
  cropped at each scene's origin: the sampler called directly with them is the same."""
  trained = {**params, "tga": perturb(params["tga"], 1)}
  key = jax.random.key(21)
  origin = np.array([[0, 0], [0, 0]], np.int32)
  y = _jit_sample(CFG, trained, {**batch, "origin": origin}, key, 4, eta)
  key_t, key_eta = jax.random.split(key)
  noise_fn = positional_noise_fn(origin)
  x_T = noise_fn(key_t, batch["lms"].shape, jnp.float32)
  x0 = ddim_sample(make_predict_x0(CFG, trained, batch), x_T, cosine_alpha_bar(500), 4,
                   eta=eta, key=key_eta, noise_fn=noise_fn)
  ref = CFG.diffusion.to_image(x0, batch["lms"])
  scale = max(float(np.abs(np.asarray(ref)).max()), 1.0)
  np.testing.assert_allclose(np.asarray(y), np.asarray(ref), rtol=1e-5, atol=1e-5 * scale)
  # Not the plain x_T = normal(key_T, (B, H, W, C)): the origin changes the draw.
  plain = _jit_sample(CFG, trained, batch, key, 4, eta)
  assert float(jnp.abs(plain - y).max()) > 1e-3 * scale


@pytest.mark.parametrize("eta", [0.0, 0.7])
def test_a_tile_is_the_crop_of_the_whole_scene_for_a_pointwise_denoiser(monkeypatch, batch,
                                                                         eta):
  """A per-pixel stand-in for the denoiser isolates the noise: with origins the tile's
  result is exactly the crop of the whole scene's; without them the noise differs."""
  def pointwise(cfg, params, b):
    return lambda x_t, t, x0_prev: 0.5 * x_t + 0.2 * jnp.tanh(x0_prev) + b["lms"]

  monkeypatch.setattr(sampling_mod, "make_predict_x0", pointwise)
  key = jax.random.key(8)
  (y0, x0), (h, w) = (5, 3), (8, 11)
  whole = {k: batch[k][:1] for k in ("lms", "pan")}
  tile = {k: v[:, y0:y0 + h, x0:x0 + w] for k, v in whole.items()}
  run = lambda b: np.asarray(sampling_mod.sample(CFG, None, b, key, num_steps=5, eta=eta))
  full = run({**whole, "origin": np.zeros((1, 2), np.int32)})
  part = run({**tile, "origin": np.array([[y0, x0]], np.int32)})
  np.testing.assert_array_equal(part, full[:, y0:y0 + h, x0:x0 + w])
  assert np.abs(run(tile) - run(whole)[:, y0:y0 + h, x0:x0 + w]).mean() > 1e-2


def test_sample_refuses_an_origin_of_the_wrong_shape(params, batch):
  with pytest.raises(ValueError, match=r"origin.*\(2, 2\)"):
    sample(CFG, params, {**batch, "origin": np.zeros((2,), np.int32)}, jax.random.key(0), 2,
           0.0)


def test_sample_passes_on_step_to_the_sampler(params, batch):
  seen = []
  sample(CFG, params, batch, jax.random.key(0), 3, 0.0, on_step=seen.append)
  jax.effects_barrier()
  assert sorted(seen) == [0, 1, 2]


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
