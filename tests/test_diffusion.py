"""The residual diffusion object: alpha_bar from (T, s), the forward process and the
conversions X0 = s (H - L), H = L + X0 / s (formulas by hand)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import paper_model_config
from srino_jax.diffusion import Diffusion
from srino_jax.schedule import cosine_alpha_bar


def _images(seed=0, shape=(2, 8, 8, 4)):
  rng = np.random.default_rng(seed)
  return (jnp.asarray(rng.uniform(0, 1, shape), jnp.float32),
          jnp.asarray(rng.uniform(0, 1, shape), jnp.float32))


def test_alpha_bar_is_the_cosine_schedule_of_the_model():
  cfg = paper_model_config("wv3")
  d = cfg.diffusion
  np.testing.assert_array_equal(d.alpha_bar, cosine_alpha_bar(500, 0.008))
  assert (d.num_train_steps, d.schedule_s, d.residual_scale) == (500, 0.008, 1.0)
  np.testing.assert_array_equal(Diffusion(50, 0.1, 1.0).alpha_bar, cosine_alpha_bar(50, 0.1))


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_conversions_are_inverse_and_scaled(scale):
  d = Diffusion(20, 0.008, scale)
  hrms, lms = _images()
  x0 = d.to_x0(hrms, lms)
  np.testing.assert_allclose(x0, scale * (np.asarray(hrms) - np.asarray(lms)), rtol=1e-6)
  np.testing.assert_allclose(d.to_image(x0, lms), hrms, rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(d.to_image(jnp.zeros_like(x0), lms), lms)  # Y_prev = L first
  np.testing.assert_allclose(d.to_image_units(x0), hrms - lms, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(d.from_image_units(hrms - lms), x0, rtol=1e-6)


def test_noisy_draws_t_and_eps_from_the_split_key():
  d = Diffusion(30, 0.008, 10.0)
  hrms, lms = _images(1)
  x0 = d.to_x0(hrms, lms)
  key = jax.random.PRNGKey(4)
  x_t, t = d.noisy(x0, key)
  key_t, key_eps = jax.random.split(key)
  want_t = jax.random.randint(key_t, (2,), 0, 30, dtype=jnp.int32)
  eps = np.asarray(jax.random.normal(key_eps, x0.shape))
  np.testing.assert_array_equal(t, want_t)
  ab = np.asarray(cosine_alpha_bar(30))[np.asarray(t)][:, None, None, None]
  np.testing.assert_allclose(x_t, np.sqrt(ab) * np.asarray(x0) + np.sqrt(1 - ab) * eps,
                             rtol=1e-5, atol=1e-5)


def test_diffusion_is_a_frozen_hashable_value():
  """A field of ModelConfig (a jit static argument): equal settings are equal and hash
  alike, its table does not enter the comparison, and it cannot be changed in place."""
  a, b = Diffusion(20, 0.008, 10.0), Diffusion(20, 0.008, 10.0)
  assert a == b and hash(a) == hash(b) and a != Diffusion(20, 0.008, 1.0)
  with pytest.raises(dataclasses.FrozenInstanceError):
    a.residual_scale = 1.0
  # The table is NumPy, built with the object: reading alpha_bar inside jit leaks nothing.
  got = jax.jit(lambda t: a.alpha_bar[t])(jnp.int32(3))
  np.testing.assert_array_equal(got, cosine_alpha_bar(20, 0.008)[3])
  assert isinstance(a._table, np.ndarray)


def test_bad_scale_is_refused():
  with pytest.raises(ValueError, match="residual_scale"):
    Diffusion(10, 0.008, 0.0)
