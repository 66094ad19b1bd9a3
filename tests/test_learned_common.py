"""Learned baselines PNN and FusionNet against hand-written NumPy forwards on tiny inputs."""

from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srino_jax import learned

CFG = types.SimpleNamespace(bands=3)


def _conv(x, kernel, bias):
  """Zero-padded ("same") cross-correlation with explicit loops: x (H, W, Ci), kernel
  (k, k, Ci, Co) -> (H, W, Co), float64."""
  k = kernel.shape[0]
  p = k // 2
  h, w, _ = x.shape
  xp = np.pad(x, ((p, p), (p, p), (0, 0)))
  out = np.empty((h, w, kernel.shape[-1]))
  for i in range(h):
    for j in range(w):
      out[i, j] = np.einsum("abc,abcd->d", xp[i:i + k, j:j + k], kernel) + bias
  return out


def _valid_conv(x, kernel, bias):
  k = kernel.shape[0]
  p = k // 2
  return _conv(x, kernel, bias)[p:-p, p:-p]


def _batch(seed=0, size=12, bands=3, b=2):
  rng = np.random.default_rng(seed)
  lms = rng.uniform(0.1, 0.6, (b, size, size, bands)).astype(np.float32)
  pan = rng.uniform(0.1, 0.6, (b, size, size, 1)).astype(np.float32)
  gt = rng.uniform(0.1, 0.6, (b, size, size, bands)).astype(np.float32)
  ms = lms[:, 2::4, 2::4]
  return {"gt": gt, "lms": lms, "ms": ms, "pan": pan}


def _randomise(params, seed, scale):
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda a: jnp.asarray(scale * rng.normal(size=a.shape), jnp.float32),
                      params)


def test_registry_and_parameter_groups():
  assert set(learned.LEARNED) == {"pnn", "fusionnet"}
  for name, (init, _, _) in learned.LEARNED.items():
    params = init(CFG, jax.random.key(0), 16)
    assert list(params) == [name]
  p = learned.init_pnn(CFG, jax.random.key(0), 16)["pnn"]
  assert {k: v["kernel"].shape for k, v in p.items()} == {
      "conv0": (9, 9, 4, 64), "conv1": (5, 5, 64, 32), "conv2": (5, 5, 32, 3)}
  f = learned.init_fusionnet(CFG, jax.random.key(0), 16)["fusionnet"]
  assert len(f) == 2 + 2 * 4 and f["conv_in"]["kernel"].shape == (3, 3, 3, 32)


def test_pnn_forward_matches_numpy():
  batch = _batch(size=10, b=1)
  params = _randomise(learned.init_pnn(CFG, jax.random.key(0), 16), 1, 0.05)
  got = np.asarray(learned.pnn_fuse(CFG, params, batch, jax.random.key(9), 25, 0.0))[0]
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["pnn"])
  x = np.concatenate([batch["lms"][0], batch["pan"][0]], axis=-1).astype(np.float64)
  x = np.pad(x, ((8, 8), (8, 8), (0, 0)), mode="edge")  # the network's scope, edges replicated
  x = np.maximum(_valid_conv(x, p["conv0"]["kernel"], p["conv0"]["bias"]), 0.0)
  x = np.maximum(_valid_conv(x, p["conv1"]["kernel"], p["conv1"]["bias"]), 0.0)
  want = _valid_conv(x, p["conv2"]["kernel"], p["conv2"]["bias"])
  assert want.shape == (10, 10, 3)
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_fusionnet_forward_matches_numpy():
  batch = _batch(size=7, b=1)
  params = _randomise(learned.init_fusionnet(CFG, jax.random.key(0), 16), 2, 0.2)
  got = np.asarray(learned.fusionnet_fuse(CFG, params, batch, None, None, None))[0]
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), params["fusionnet"])
  lms, pan = batch["lms"][0].astype(np.float64), batch["pan"][0].astype(np.float64)
  x = np.repeat(pan, 3, axis=-1) - lms
  x = np.maximum(_conv(x, p["conv_in"]["kernel"], p["conv_in"]["bias"]), 0.0)
  for b in range(4):
    c0, c1 = p[f"block{b}_conv0"], p[f"block{b}_conv1"]
    x = x + _conv(np.maximum(_conv(x, c0["kernel"], c0["bias"]), 0.0), c1["kernel"], c1["bias"])
  want = _conv(x, p["conv_out"]["kernel"], p["conv_out"]["bias"]) + lms
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_fusionnet_with_a_zero_last_layer_returns_l_exactly():
  batch = _batch(size=16)
  params = _randomise(learned.init_fusionnet(CFG, jax.random.key(0), 16), 3, 0.3)
  params["fusionnet"]["conv_out"] = jax.tree.map(jnp.zeros_like, params["fusionnet"]["conv_out"])
  out = learned.fusionnet_fuse(CFG, params, batch, None, None, None)
  np.testing.assert_array_equal(np.asarray(out), batch["lms"])


@pytest.mark.parametrize("name", ["pnn", "fusionnet"])
def test_loss_is_l1_on_gt_and_ignores_the_key(name):
  init, loss_fn, fuse = learned.LEARNED[name]
  batch = _batch(seed=4)
  params = init(CFG, jax.random.key(0), 16)
  loss, metrics = loss_fn(CFG, params, batch, jax.random.key(1))
  want = np.mean(np.abs(np.asarray(fuse(CFG, params, batch, None, 1, 0.0),
                                   np.float64) - batch["gt"]))
  np.testing.assert_allclose(float(loss), want, rtol=1e-5)
  assert float(metrics["loss"]) == float(loss)
  assert float(loss_fn(CFG, params, batch, jax.random.key(2))[0]) == float(loss)
  grads = jax.grad(lambda p: loss_fn(CFG, p, batch, None)[0])(params)
  assert list(grads) == [name]
  assert all(float(jnp.abs(g).sum()) > 0 for g in jax.tree.leaves(grads))  # all trainable


def test_bad_inputs_name_the_network():
  batch = _batch()
  params = learned.init_pnn(CFG, jax.random.key(0), 16)
  with pytest.raises(ValueError, match="PNN: pan must be"):
    learned.pnn_fuse(CFG, params, dict(batch, pan=batch["pan"][:, :8]), None, 1, 0.0)


@pytest.mark.parametrize("name", ["pnn", "fusionnet"])
def test_fuse_accepts_and_ignores_an_origin_and_a_step_callback(name):
  """The scene tool's batches carry "origin" and may pass on_step (SRINO's positional noise
  and progress); a feed-forward baseline gives the same image and never calls back."""
  init, _, fuse = learned.LEARNED[name]
  batch = _batch(seed=5, b=2)
  params = _randomise(init(CFG, jax.random.key(0), 16), 6, 0.1)
  calls = []
  with_origin = dict(batch, origin=np.array([[0, 0], [40, 12]], np.int32))
  got = fuse(CFG, params, with_origin, jax.random.key(1), 25, 0.0, on_step=calls.append)
  np.testing.assert_array_equal(np.asarray(got), np.asarray(fuse(CFG, params, batch, None,
                                                                 25, 0.0)))
  assert calls == []
