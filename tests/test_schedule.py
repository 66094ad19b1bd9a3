"""Tests for srino_jax.schedule: the cosine schedule against its formula, q_sample, DDIM steps."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
import pytest

from srino_jax import schedule


def _reference_alpha_bar(T, s):
  """Independent scalar re-derivation: product of clipped betas from f(t)."""
  f = lambda t: math.cos(((t / T + s) / (1 + s)) * math.pi / 2) ** 2
  out, prod = [], 1.0
  for t in range(T):
    beta = min(1.0 - f(t + 1) / f(t), 0.999)
    prod *= 1.0 - beta
    out.append(prod)
  return np.array(out)


@pytest.mark.parametrize("T", [500, 1000, 37])
def test_cosine_alpha_bar_matches_formula(T):
  ab = schedule.cosine_alpha_bar(T)
  assert ab.dtype == jnp.float32 and ab.shape == (T,)
  np.testing.assert_allclose(np.asarray(ab), _reference_alpha_bar(T, 0.008), rtol=1e-6, atol=1e-9)


def test_cosine_alpha_bar_properties():
  T, s = 500, 0.008
  ab = np.asarray(schedule.cosine_alpha_bar(T, s), np.float64)
  assert np.all(np.diff(ab) < 0), "alpha_bar must be strictly decreasing"
  # alpha_bar[0] = f(1)/f(0): close to 1 (one small step of noise).
  f = lambda t: math.cos(((t / T + s) / (1 + s)) * math.pi / 2) ** 2
  assert ab[0] == pytest.approx(f(1) / f(0), rel=1e-6)
  assert 0.999 < ab[0] < 1.0
  # Unclipped region: alpha_bar[t] = f(t+1)/f(0) (SPEC 2's closed form).
  np.testing.assert_allclose(ab[:400], [f(t + 1) / f(0) for t in range(400)], rtol=1e-5)
  # The last beta would be 1 (f(T) = 0); it is clipped to 0.999, so alpha_bar[T-1] > 0.
  betas = 1 - ab[1:] / ab[:-1]
  assert betas.max() == pytest.approx(0.999, rel=1e-3)
  assert ab[-1] > 0 and ab[-1] == pytest.approx(ab[-2] * 0.001, rel=1e-2)


def test_cosine_alpha_bar_rejects_bad_steps():
  with pytest.raises(ValueError, match="num_steps"):
    schedule.cosine_alpha_bar(0)


@pytest.mark.parametrize("bands", [4, 8])
def test_q_sample_formula_and_variance(bands):
  ab = schedule.cosine_alpha_bar(500)
  rng = np.random.default_rng(bands)
  x0 = rng.uniform(size=(3, 64, 64, bands)).astype(np.float32)
  noise = rng.standard_normal(x0.shape).astype(np.float32)
  t = np.array([0, 250, 499])
  xt = np.asarray(schedule.q_sample(jnp.asarray(x0), jnp.asarray(t), jnp.asarray(noise), ab))
  a = _reference_alpha_bar(500, 0.008)[t][:, None, None, None]
  np.testing.assert_allclose(xt, np.sqrt(a) * x0 + np.sqrt(1 - a) * noise, rtol=1e-5, atol=1e-5)
  # Unit-variance x0 stays unit variance: ab + (1 - ab) = 1.
  z = rng.standard_normal(x0.shape).astype(np.float32)
  xt = np.asarray(schedule.q_sample(jnp.asarray(z), jnp.asarray(t), jnp.asarray(noise), ab))
  np.testing.assert_allclose(xt.var(axis=(1, 2, 3)), 1.0, atol=0.05)


def test_q_sample_rejects_bad_t():
  ab = schedule.cosine_alpha_bar(10)
  x = jnp.zeros((2, 4, 4, 3))
  with pytest.raises(ValueError, match="t must have shape"):
    schedule.q_sample(x, jnp.array([1, 2, 3]), x, ab)


def test_ddim_timesteps():
  ts = np.asarray(schedule.ddim_timesteps(500, 25))
  assert ts.dtype == np.int32 and ts.shape == (25,)
  assert ts[0] == 499 and ts[-1] == 0
  gaps = -np.diff(ts)
  assert set(gaps.tolist()) <= {20, 21}  # evenly spaced: (T-1)/(S-1) = 20.8 rounded
  np.testing.assert_array_equal(ts, np.round(np.linspace(499, 0, 25)))
  np.testing.assert_array_equal(schedule.ddim_timesteps(500, 500), np.arange(499, -1, -1))
  with pytest.raises(ValueError, match="num_steps"):
    schedule.ddim_timesteps(10, 11)
