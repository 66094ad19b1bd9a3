"""Tests for srino_jax.sampler: DDIM update identities, scan threading, jit/vmap behaviour."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
from jax.extend import core as jex_core
import numpy as np
import pytest

from srino_jax import sampler, schedule
from srino_jax.noise import positional_noise_fn

AB = schedule.cosine_alpha_bar(500)


def _x(bands, key=0, batch=2, size=8):
  return jax.random.normal(jax.random.key(key), (batch, size, size, bands))


@pytest.mark.parametrize("bands", [4, 8])
@pytest.mark.parametrize("eta,key", [(0.0, None), (0.7, jax.random.key(3))])
def test_oracle_x0_is_returned_exactly(bands, eta, key):
  target = _x(bands, key=1)
  oracle = lambda x_t, t, x0_prev: target
  out = sampler.ddim_sample(oracle, _x(bands), AB, num_steps=25, eta=eta, key=key)
  np.testing.assert_array_equal(out, target)  # the last step has alpha_bar_prev = 1


@pytest.mark.parametrize("num_steps", [1, 7, 25])
def test_previous_estimate_is_threaded_through_the_scan(num_steps):
  seen_t = []

  def count(x_t, t, x0_prev):
    chex.assert_shape(t, (x_t.shape[0],))
    assert t.dtype == jnp.int32
    return x0_prev + 1.0  # zeros at the first step, so the k-th step returns k

  out = jax.jit(functools.partial(sampler.ddim_sample, count, alpha_bar=AB,
                                  num_steps=num_steps))(_x(4))
  np.testing.assert_array_equal(out, np.full(out.shape, num_steps, np.float32))


def test_timesteps_passed_to_the_denoiser_in_order():
  """x0_hat = 2 x0_prev + t folds the visited steps into one number, order included."""
  record = lambda x_t, t, x0_prev: 2.0 * x0_prev + t[:, None, None, None].astype(jnp.float32)
  out = sampler.ddim_sample(record, _x(4), AB, num_steps=5)
  steps = [499, 374, 250, 125, 0]  # round(linspace(499, 0, 5))
  expected = 0.0
  for t in steps:
    expected = 2.0 * expected + t
  np.testing.assert_array_equal(out, np.full(out.shape, expected, np.float32))


def _count_primitive(jaxpr, name):
  n = 0
  for eqn in jaxpr.eqns:
    n += eqn.primitive.name == name
    for p in eqn.params.values():
      for sub in (p if isinstance(p, (list, tuple)) else [p]):
        if isinstance(sub, jex_core.ClosedJaxpr):
          n += _count_primitive(sub.jaxpr, name)
        elif isinstance(sub, jex_core.Jaxpr):
          n += _count_primitive(sub, name)
  return n


@pytest.mark.parametrize("num_steps", [25, 100])
def test_jitted_sampler_is_one_scan(num_steps):
  predict = lambda aux, x_t, t, x0_prev: aux * x_t + x0_prev
  sample = jax.jit(lambda aux, x_T, key: sampler.ddim_sample(
      lambda x_t, t, x0_prev: predict(aux, x_t, t, x0_prev), x_T, AB, num_steps=num_steps,
      eta=0.5, key=key))
  jaxpr = jax.make_jaxpr(sample)(jnp.float32(0.5), _x(4), jax.random.key(0))
  assert _count_primitive(jaxpr.jaxpr, "scan") == 1
  (scan_eqn,) = [e for e in jaxpr.jaxpr.eqns[0].params["jaxpr"].jaxpr.eqns
                 if e.primitive.name == "scan"]
  assert scan_eqn.params["length"] == num_steps


def test_vmap_over_keys_gives_distinct_samples_and_same_key_repeats():
  predict = lambda x_t, t, x0_prev: 0.5 * x_t  # depends on x_t, so noise propagates
  x_T = _x(4, batch=1)
  run = jax.jit(jax.vmap(lambda key: sampler.ddim_sample(predict, x_T, AB, 10, eta=1.0, key=key)))
  keys = jax.random.split(jax.random.key(0), 3)
  out = np.asarray(run(keys))
  assert out.shape == (3,) + x_T.shape
  for i in range(3):
    for j in range(i + 1, 3):
      assert np.abs(out[i] - out[j]).max() > 1e-3
  same = np.asarray(run(jnp.stack([keys[0]] * 3)))
  np.testing.assert_array_equal(same[0], same[1])
  np.testing.assert_array_equal(same[0], same[2])
  np.testing.assert_array_equal(same[0], out[0])
  # eta = 0 is deterministic: vmap over different initial noises vs. one at a time.
  det = jax.vmap(lambda x: sampler.ddim_sample(predict, x, AB, 10))(jnp.stack([x_T, 2 * x_T]))
  np.testing.assert_allclose(det[1], sampler.ddim_sample(predict, 2 * x_T, AB, 10), rtol=1e-6)


def test_eta_without_key_raises():
  with pytest.raises(ValueError, match="key"):
    sampler.ddim_sample(lambda x, t, p: x, _x(4), AB, eta=0.3)


@pytest.mark.parametrize("t,t_prev", [(499, 478), (250, 229), (21, 0), (5, 4)])
def test_ddim_step_identity_eta0(t, t_prev):
  """If x_t = q_sample(x0, t, eps) and x0_hat = x0, DDIM lands on q_sample(x0, t_prev, eps)."""
  x0, eps = _x(4, key=1), _x(4, key=2)
  ab_t, ab_p = float(AB[t]), float(AB[t_prev])
  x_t = np.sqrt(ab_t) * x0 + np.sqrt(1 - ab_t) * eps
  out = sampler.ddim_step(x_t, x0, t, t_prev, AB, eta=0.0)
  # eps_hat recovered from x_t, then re-noised at ab_prev.
  eps_hat = (x_t - np.sqrt(ab_t) * x0) / np.sqrt(1 - ab_t)
  np.testing.assert_allclose(out, np.sqrt(ab_p) * x0 + np.sqrt(1 - ab_p) * eps_hat, rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(out, np.sqrt(ab_p) * x0 + np.sqrt(1 - ab_p) * eps, rtol=1e-4, atol=1e-4)


def test_ddim_step_sigma_is_ddpm_posterior_std_at_eta1():
  t, t_prev = 300, 299
  x_t, x0, z = _x(4, key=1), _x(4, key=2), _x(4, key=3)
  det = sampler.ddim_step(x_t, x0, t, t_prev, AB, eta=1.0)
  noisy = sampler.ddim_step(x_t, x0, t, t_prev, AB, eta=1.0, noise=z)
  ab_t, ab_p = float(AB[t]), float(AB[t_prev])
  beta_tilde = (1 - ab_p) / (1 - ab_t) * (1 - ab_t / ab_p)  # DDPM posterior variance
  np.testing.assert_allclose(noisy - det, np.sqrt(beta_tilde) * z, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("eta", [0.3, 1.0])
def test_ddim_step_mean_shrinks_the_direction_by_sigma(eta):
  """Song et al. eq. 12 with eta > 0: the direction term is sqrt(1 - ab_prev - sigma^2)
  eps_hat (not sqrt(1 - ab_prev) eps_hat), so the total variance stays 1 - ab_prev."""
  t, t_prev = 250, 229
  x_t, x0, z = _x(4, key=1), _x(4, key=2), _x(4, key=3)
  ab_t, ab_p = float(AB[t]), float(AB[t_prev])
  sigma = eta * np.sqrt((1 - ab_p) / (1 - ab_t) * (1 - ab_t / ab_p))
  eps_hat = (np.asarray(x_t) - np.sqrt(ab_t) * np.asarray(x0)) / np.sqrt(1 - ab_t)
  ref = np.sqrt(ab_p) * x0 + np.sqrt(1 - ab_p - sigma**2) * eps_hat + sigma * z
  out = sampler.ddim_step(x_t, x0, t, t_prev, AB, eta=eta, noise=z)
  np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


def test_ddim_step_last_returns_x0_hat():
  x_t, x0 = _x(8, key=1), _x(8, key=2)
  out = sampler.ddim_step(x_t, x0, 0, -1, AB, eta=1.0, noise=_x(8, key=3))
  np.testing.assert_array_equal(out, x0)


# ---- positional noise and the step callback --------------------------------------------------

def _pointwise(x_t, t, x0_prev):
  """A per-pixel denoiser: pixel (i, j) of x0_hat depends only on pixel (i, j) of its inputs."""
  return 0.6 * x_t + 0.3 * jnp.tanh(x0_prev) + t[:, None, None, None].astype(x_t.dtype) * 1e-3


@pytest.mark.parametrize("eta", [0.0, 0.8])
def test_tile_equals_the_crop_of_the_whole_image_with_positional_noise(eta):
  """DDIM is per pixel here, so with noise that is a function of the global position a tile
  is exactly the crop of the whole image; with per-window noise it is not."""
  key_t, key_eta = jax.random.split(jax.random.key(4))
  (H, W, C), (y0, x0, h, w) = (40, 48, 3), (13, 21, 20, 24)
  run = jax.jit(lambda origin, shape: sampler.ddim_sample(
      _pointwise, positional_noise_fn(origin, 16)(key_t, shape, jnp.float32), AB, 6, eta=eta,
      key=key_eta, noise_fn=positional_noise_fn(origin, 16)), static_argnums=1)
  whole = np.asarray(run(jnp.zeros((1, 2), jnp.int32), (1, H, W, C)))
  tile = np.asarray(run(jnp.array([[y0, x0]], jnp.int32), (1, h, w, C)))
  np.testing.assert_array_equal(tile, whole[:, y0:y0 + h, x0:x0 + w])
  # Per-window noise (jax.random.normal of the tile's shape) gives another tile.
  plain = sampler.ddim_sample(_pointwise, jax.random.normal(key_t, (1, h, w, C)), AB, 6,
                              eta=eta, key=key_eta)
  assert np.abs(np.asarray(plain) - whole[:, y0:y0 + h, x0:x0 + w]).mean() > 0.1


def test_noise_fn_draws_the_per_step_noise_from_the_same_subkeys():
  """noise_fn = jax.random.normal is the default exactly; another noise_fn changes the result
  only through z (the oracle denoiser still returns its target)."""
  x_T, key = _x(4), jax.random.key(3)
  default = sampler.ddim_sample(_pointwise, x_T, AB, 5, eta=0.5, key=key)
  explicit = sampler.ddim_sample(_pointwise, x_T, AB, 5, eta=0.5, key=key,
                                 noise_fn=jax.random.normal)
  np.testing.assert_array_equal(default, explicit)
  doubled = sampler.ddim_sample(_pointwise, x_T, AB, 5, eta=0.5, key=key,
                                noise_fn=lambda k, s, d: 2.0 * jax.random.normal(k, s, d))
  assert float(jnp.abs(doubled - default).max()) > 1e-3


@pytest.mark.parametrize("num_steps", [1, 6])
def test_on_step_sees_every_step_once_and_leaves_the_result_alone(num_steps):
  seen = []
  x_T, key = _x(4), jax.random.key(5)
  run = jax.jit(lambda x, k, cb=None: sampler.ddim_sample(_pointwise, x, AB, num_steps,
                                                          eta=0.5, key=k, on_step=cb),
                static_argnums=2)
  out = run(x_T, key, seen.append)
  jax.effects_barrier()
  assert sorted(seen) == list(range(num_steps)) and all(type(i) is int for i in seen)
  # Same numbers up to float rounding: XLA compiles a one-step scan without the callback's
  # side effect into straight-line code, fused differently (1 ulp here).
  np.testing.assert_allclose(out, run(x_T, key), rtol=1e-6, atol=1e-6)


def test_on_step_under_vmap_fires_per_sample_and_step():
  seen = []
  keys = jax.random.split(jax.random.key(6), 3)
  many = jax.jit(jax.vmap(lambda k: sampler.ddim_sample(
      _pointwise, _x(4, batch=1), AB, 4, eta=0.5, key=k, on_step=seen.append)))(keys)
  jax.effects_barrier()
  assert many.shape == (3, 1, 8, 8, 4)
  assert sorted(seen) == sorted(list(range(4)) * 3)
