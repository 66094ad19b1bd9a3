"""Tests of srino_jax.guidance: residuals, kernel application, gate, f_M2P / f_KE, gradients."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.ndimage

from srino_jax.toolbox.mtf import mtf_kernel
from srino_jax.guidance import (KENet, LayerAdapter, M2PNet, apply_kernel, channel_gate,
                                consistency_loss, gated_features, gradient_guidance,
                                kernel_prior, spatial_residual, spectral_residual)


def _rng(seed=0):
  return np.random.default_rng(seed)


def _band_mean(img):
  return jnp.mean(img, axis=-1, keepdims=True)


def _random_kernels(rng, b, k, c):
  ker = rng.random((b, k, k, c)).astype(np.float32)
  return ker / ker.sum(axis=(1, 2), keepdims=True)


def _perturb(params, seed, scale=0.2):
  """Adds N(0, scale^2) noise (NumPy Generator) to every leaf: zero-initialised layers wake up."""
  rng = _rng(seed)
  return jax.tree.map(
      lambda p: p + jnp.asarray(scale * rng.standard_normal(p.shape), p.dtype), params)


# ---- apply_kernel --------------------------------------------------------------------------

@pytest.mark.parametrize("bands", [1, 4, 8])
def test_apply_kernel_delta_is_identity(bands):
  img = _rng().random((2, 17, 13, bands)).astype(np.float32)
  delta = np.zeros((2, 11, 11, bands), np.float32)
  delta[:, 5, 5, :] = 1.0
  out = apply_kernel(jnp.asarray(img), jnp.asarray(delta))
  # Identity up to float32 FFT round-off (~1e-7 on [0, 1] data).
  np.testing.assert_allclose(np.asarray(out), img, rtol=0, atol=1e-6)


@pytest.mark.parametrize("bands,k", [(4, 11), (3, 5)])
def test_apply_kernel_matches_scipy_correlate_nearest(bands, k):
  rng = _rng(1)
  img = rng.random((3, 20, 24, bands)).astype(np.float32)
  ker = rng.standard_normal((3, k, k, bands)).astype(np.float32)  # asymmetric, per image/band
  out = np.asarray(apply_kernel(jnp.asarray(img), jnp.asarray(ker)))
  ref = np.empty_like(img, dtype=np.float64)
  for b in range(3):
    for c in range(bands):
      ref[b, ..., c] = scipy.ndimage.correlate(img[b, ..., c].astype(np.float64),
                                               ker[b, ..., c].astype(np.float64), mode="nearest")
  np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
  # Correlation = convolution with the flipped kernel (same edge padding).
  conv = scipy.ndimage.convolve(img[1, ..., 0].astype(np.float64),
                                ker[1, ::-1, ::-1, 0].astype(np.float64), mode="nearest")
  np.testing.assert_allclose(out[1, ..., 0], conv, rtol=1e-5, atol=1e-5)


def test_apply_kernel_rejects_bad_shapes():
  img = jnp.zeros((2, 8, 8, 4))
  with pytest.raises(ValueError, match="kernels"):
    apply_kernel(img, jnp.zeros((2, 11, 11, 3)))
  with pytest.raises(ValueError, match="odd"):
    apply_kernel(img, jnp.zeros((2, 4, 4, 4)))


# ---- residuals -----------------------------------------------------------------------------

def test_spatial_residual_zero_when_pseudo_pan_matches():
  y_prev = jnp.asarray(_rng(2).random((2, 16, 16, 4)), jnp.float32)
  pan = _band_mean(y_prev)
  r = spatial_residual(pan, y_prev, _band_mean)
  chex.assert_shape(r, (2, 16, 16, 1))
  np.testing.assert_array_equal(np.asarray(r), 0.0)
  # And the formula P - f_M2P(Y_prev) otherwise.
  pan2 = pan + 0.3
  np.testing.assert_allclose(np.asarray(spatial_residual(pan2, y_prev, _band_mean)), 0.3,
                             rtol=1e-6)


def test_spectral_residual_zero_when_lms_is_blurred_estimate():
  rng = _rng(3)
  y_prev = jnp.asarray(rng.random((2, 16, 16, 4)), jnp.float32)
  kernels = jnp.asarray(_random_kernels(rng, 2, 11, 4))
  lms = apply_kernel(y_prev, kernels)
  pan = jnp.mean(y_prev, axis=-1, keepdims=True)
  ke = kernels
  r = spectral_residual(pan, lms, y_prev, ke)
  chex.assert_shape(r, (2, 16, 16, 4))
  np.testing.assert_allclose(np.asarray(r), 0.0, atol=1e-6)
  # A different estimate gives exactly KE * (y - y_prev).
  shift = jnp.asarray(rng.random(y_prev.shape), jnp.float32)
  np.testing.assert_allclose(np.asarray(spectral_residual(pan, lms, y_prev + shift, ke)),
                             np.asarray(apply_kernel(shift, kernels)), atol=1e-5)


# ---- gate and adapter ----------------------------------------------------------------------

def test_channel_gate_in_unit_interval_and_zero_features_stay_zero():
  rng = _rng(4)
  feat = jnp.asarray(rng.standard_normal((3, 8, 8, 6)), jnp.float32)
  w_mat = jnp.asarray(rng.standard_normal((12, 6)), jnp.float32)
  mlp = lambda x: x @ w_mat
  w = channel_gate(feat, mlp)
  chex.assert_shape(w, (3, 1, 1, 6))
  assert float(w.min()) > 0.0 and float(w.max()) < 1.0
  pooled = jnp.concatenate([feat.mean((1, 2)), feat.max((1, 2))], -1)
  np.testing.assert_allclose(np.asarray(w[:, 0, 0]), np.asarray(jax.nn.sigmoid(pooled @ w_mat)),
                             rtol=1e-6)
  np.testing.assert_array_equal(np.asarray(gated_features(jnp.zeros_like(feat), mlp)), 0.0)


def test_spectral_branch_zero_residual_contributes_nothing():
  d, a, c = 8, 4, 3
  rng = _rng(5)
  f = jnp.asarray(rng.standard_normal((2, 12, 12, d)), jnp.float32)
  fused_v = jnp.asarray(rng.standard_normal((2, 12, 12, d)), jnp.float32)
  r_spe = jnp.asarray(rng.standard_normal((2, 12, 12, c)), jnp.float32)
  spectral = LayerAdapter(d, a, spatial=False, spectral=True)
  plain = LayerAdapter(d, a, spatial=False, spectral=False)
  params = jax.jit(spectral.init)(jax.random.key(0), f, fused_v, None, r_spe)["params"]
  params = _perturb(params, 1)   # make the zero-initialised output active
  plain_params = {k: params[k] for k in ("fuse_f",)}
  expected = jax.jit(plain.apply)({"params": plain_params}, f, fused_v, None, None)
  apply = jax.jit(spectral.apply)
  got0 = apply({"params": params}, f, fused_v, None, jnp.zeros_like(r_spe))
  np.testing.assert_allclose(np.asarray(got0), np.asarray(expected), rtol=1e-6, atol=1e-6)
  got = apply({"params": params}, f, fused_v, None, r_spe)
  assert float(jnp.abs(got - expected).max()) > 1e-3  # a real residual does contribute


# ---- auxiliary networks --------------------------------------------------------------------

def test_ke_kernels_nonnegative_sum_to_one():
  bands = 4
  net = KENet(bands, 11, width=8, sensor="QB")
  rng = _rng(6)
  pan = jnp.asarray(rng.random((2, 16, 16, 1)), jnp.float32)
  lms = jnp.asarray(rng.random((2, 16, 16, bands)), jnp.float32)
  params = jax.jit(net.init)(jax.random.key(0), pan, lms)["params"]
  apply = jax.jit(net.apply)
  ker = apply({"params": params}, pan, lms)
  chex.assert_shape(ker, (2, 11, 11, bands))
  # Untrained (zero last-layer weights): exactly the sensor's MTF prior.
  np.testing.assert_allclose(np.asarray(ker[0]), kernel_prior(bands, 11, "QB"), atol=1e-6)
  ker = apply({"params": _perturb(params, 2, 1.0)}, pan, lms)
  assert float(ker.min()) >= 0.0
  np.testing.assert_allclose(np.asarray(ker.sum(axis=(1, 2))), 1.0, atol=1e-5)
  assert float(jnp.abs(ker[0] - ker[1]).max()) > 0  # one kernel set per image


@pytest.mark.parametrize("bands,sensor", [(8, "WV3"), (4, "GF2"), (5, None)])
def test_kernel_prior_is_cropped_renormalised_mtf(bands, sensor):
  prior = kernel_prior(bands, 11, sensor)
  full = mtf_kernel(sensor or "GF2")  # no sensor: the 0.3 gain of GF2 in every band
  crop = full[15:26, 15:26, :1] if sensor is None else full[15:26, 15:26]
  np.testing.assert_allclose(prior, np.broadcast_to(crop / crop.sum(axis=(0, 1)), prior.shape),
                             rtol=1e-12)
  assert prior.min() >= 0.0
  np.testing.assert_allclose(prior.sum(axis=(0, 1)), 1.0, rtol=1e-12)
  with pytest.raises(ValueError, match="bands"):
    kernel_prior(4, 11, "WV3")


def test_m2p_untrained_is_band_mean():
  ms = jnp.asarray(_rng(7).random((2, 16, 16, 5)), jnp.float32)
  net = M2PNet(8)
  params = jax.jit(net.init)(jax.random.key(0), ms)["params"]
  np.testing.assert_allclose(np.asarray(jax.jit(net.apply)({"params": params}, ms)),
                             np.asarray(_band_mean(ms)), rtol=1e-5, atol=1e-6)


def test_guidance_convolutions_share_the_operator_border_helpers():
  """One home for the reflect-border helpers: the guidance modules use the operator's."""
  from srino_jax.guidance import adapters, networks
  from srino_jax.operator import local
  for module in (networks, adapters):
    for name in ("reflect_pad", "crop", "conv3x3"):
      assert getattr(module, name) is getattr(local, name), (module.__name__, name)
  x = jnp.asarray(_rng(3).random((1, 5, 6, 2)), jnp.float32)
  np.testing.assert_array_equal(np.asarray(local.crop(local.reflect_pad(x, 2), 2)), x)
  np.testing.assert_array_equal(np.asarray(local.reflect_pad(x, 1))[0, 0, 1:-1],
                                np.asarray(x)[0, 1])  # reflected: no edge repeat

# ---- gradient guidance ---------------------------------------------------------------------

def test_gradient_guidance_descends_consistency_loss():
  rng = _rng(8)
  h = jnp.asarray(rng.random((2, 16, 16, 4)), jnp.float32)
  kernels = jnp.asarray(_random_kernels(rng, 2, 11, 4))
  lms, pan = apply_kernel(h, kernels), _band_mean(h)
  x0 = jnp.asarray(rng.standard_normal(h.shape) * 0.1, jnp.float32)
  # At the consistent solution x0 = H - L both terms vanish.
  assert float(consistency_loss(h - lms, pan, lms, _band_mean, kernels)) < 1e-5
  np.testing.assert_array_equal(
      np.asarray(gradient_guidance(x0, pan, lms, _band_mean, kernels, 0.0)), np.asarray(x0))
  before = float(consistency_loss(x0, pan, lms, _band_mean, kernels))
  x1 = gradient_guidance(x0, pan, lms, _band_mean, kernels, 0.5)
  after = float(consistency_loss(x1, pan, lms, _band_mean, kernels))
  assert after < before


@pytest.mark.parametrize("size", [8, 16])
def test_gradient_guidance_step_is_the_closed_form_gradient(size):
  """With f_M2P = band mean and delta kernels (R_spe = X0), g's gradient is known:
  d g / d x0[b, p, c] = -R_spa[b, p] / C + x0[b, p, c]. Pins the normalisation of alpha:
  pixel sums of squares, so the step per pixel does not depend on the image size."""
  bands = 4
  rng = _rng(9)
  lms = jnp.asarray(rng.random((2, size, size, bands)), jnp.float32)
  pan = jnp.asarray(rng.random((2, size, size, 1)), jnp.float32)
  x0 = jnp.asarray(rng.standard_normal(lms.shape) * 0.1, jnp.float32)
  delta = np.zeros((2, 11, 11, bands), np.float32)
  delta[:, 5, 5, :] = 1.0
  out = gradient_guidance(x0, pan, lms, _band_mean, jnp.asarray(delta), 3.0)
  r_spa = np.asarray(pan - _band_mean(lms + x0))
  grad = -r_spa / bands + np.asarray(x0)
  # atol: alpha (3) times the FFT blur's float32 round-off (~3e-7 on these values).
  np.testing.assert_allclose(np.asarray(out), np.asarray(x0) - 3.0 * grad, rtol=0, atol=1e-5)
