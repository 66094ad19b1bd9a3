"""Local operators of the backbone: conv stem, depthwise FFN conv, and the off switch.

`tests/data/backbones_pointwise_6164a0c.npz` holds the parameters (key 0) and outputs of the
four backbones as commit 6164a0c built them (width 8, depth 2, 2 heads, 8 x 8 grid), before
the local operators existed and while the time embedding still ended in a second Dense.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax.traverse_util import flatten_dict, unflatten_dict

from srino_jax import operator as op
from conftest import paper_model_config
from srino_jax.model.denoiser import build_backbone


def ModelConfig(bands=4, **fields):  # noqa: N802 - reads as the dataclass it builds
  """The recipe's 4-band ModelConfig with the local operators off unless `fields` say so."""
  assert bands == 4, "these tests use the 4-band (QB) recipe"
  return paper_model_config("qb", sensor=None, **{"local_operators": False, **fields})

OLD = pathlib.Path(__file__).parent / "data" / "backbones_pointwise_6164a0c.npz"
NAMES = ("galerkin", "softmax", "fno", "cnn")


def _kw(name, **extra):
  kw = dict(width=8, depth=2, heads=2, ffn_ratio=2, **extra)
  return dict(kw, fno_modes=3) if name == "fno" else kw


def _old(name):
  with np.load(OLD) as f:
    params = {tuple(k.split("/")[2:]): f[k] for k in f.files if k.startswith(f"{name}/params/")}
    inputs = tuple(jnp.asarray(f[f"input/{k}"]) for k in ("x_t", "cond", "t"))
    return params, inputs, f[f"{name}/output"]


def _gelu(x):  # flax's nn.gelu (tanh approximation)
  return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def _conv_same(x, kernel, bias):
  """Zero-padded 3x3 cross-correlation, explicit loops: x (H, W, Ci), kernel (3, 3, Ci, Co)."""
  h, w, _ = x.shape
  xp = np.pad(x, ((1, 1), (1, 1), (0, 0)))
  out = np.zeros((h, w, kernel.shape[-1]))
  for i in range(h):
    for j in range(w):
      out[i, j] = np.einsum("abc,abcd->d", xp[i:i + 3, j:j + 3], kernel) + bias
  return out


@pytest.mark.parametrize("name", NAMES)
def test_off_switch_is_the_old_model_with_the_time_dense_folded(name):
  old, (x, cond, t), old_out = _old(name)
  model = op.make_backbone(name, 2, **_kw(name, local_operators=False))
  new = flatten_dict(model.init(jax.random.key(0), x, cond, t)["params"])
  # Same tree and bit-identical initial values, minus the removed time-embedding Dense.
  dense_1 = {k: old.pop(k) for k in [k for k in old if k[:2] == ("time_embed", "dense_1")]}
  assert set(new) == set(old) and len(dense_1) == 2
  for k in old:
    np.testing.assert_array_equal(np.asarray(new[k]), old[k], err_msg=str(k))
  # Folding W1, b1 into each modulation's Dense (a linear map of a linear map) gives back the
  # old outputs: the removed Dense was a re-parametrisation.
  w1, b1 = dense_1[("time_embed", "dense_1", "kernel")], dense_1[("time_embed", "dense_1", "bias")]
  folded = dict(old)
  for l in range(2):
    kk, bk = (f"modulations_{l}", "Dense_0", "kernel"), (f"modulations_{l}", "Dense_0", "bias")
    folded[kk] = w1.astype(np.float64) @ old[kk]
    folded[bk] = b1.astype(np.float64) @ old[kk] + old[bk]
  folded = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), unflatten_dict(folded))
  out = model.apply({"params": folded}, x, cond, t)
  np.testing.assert_allclose(np.asarray(out), old_out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_on_switch_adds_exactly_the_stem_and_one_depthwise_conv_per_layer(name):
  _, (x, cond, t), _ = _old(name)
  off = flatten_dict(op.make_backbone(name, 2, **_kw(name)).init(jax.random.key(0), x, cond, t)
                     ["params"])
  on = flatten_dict(op.make_backbone(name, 2, **_kw(name, local_operators=True, stem_blocks=3))
                    .init(jax.random.key(0), x, cond, t)["params"])
  extra = {k for k in on if k not in off}
  expected = {("stem", f"block{b}_conv{c}", p) for b in range(3) for c in range(2)
              for p in ("kernel", "bias")}
  expected |= {(f"ffns_{l}", "dwconv", p) for l in range(2) for p in ("kernel", "bias")}
  assert extra == expected and set(off) <= set(on)
  for k in off:  # the shared parameters start from the same values (flax folds in names)
    np.testing.assert_array_equal(np.asarray(on[k]), np.asarray(off[k]))


def test_model_config_reaches_the_backbone():
  b = build_backbone(ModelConfig(bands=4, width=8, heads=2, local_operators=True, stem_blocks=3))
  assert (b.local_operators, b.stem_blocks) == (True, 3)
  assert build_backbone(ModelConfig(bands=4)).local_operators is False
  with pytest.raises(ValueError, match="stem_blocks"):
    ModelConfig(bands=4, stem_blocks=0)


def test_depthwise_feed_forward_matches_numpy():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(1, 5, 6, 3)).astype(np.float32)
  ffn = op.FeedForward(3, ratio=2, depthwise=True)
  params = ffn.init(jax.random.key(1), x)["params"]
  params = jax.tree.map(lambda a: jnp.asarray(rng.normal(size=a.shape), jnp.float32), params)
  got = np.asarray(ffn.apply({"params": params}, x))[0]
  p = jax.tree.map(np.asarray, params)
  h = x[0].astype(np.float64) @ p["dense_0"]["kernel"] + p["dense_0"]["bias"]  # (5, 6, 6)
  hp = np.pad(h, ((1, 1), (1, 1), (0, 0)), mode="reflect")  # reflect borders, no edge repeat
  k = p["dwconv"]["kernel"]
  dw = np.zeros_like(h)
  for i in range(5):
    for j in range(6):
      dw[i, j] = np.sum(hp[i:i + 3, j:j + 3] * k, axis=(0, 1))
  want = _gelu(dw + p["dwconv"]["bias"]) @ p["dense_1"]["kernel"] + p["dense_1"]["bias"]
  np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


def test_conv_stem_matches_numpy():
  rng = np.random.default_rng(2)
  x = rng.normal(size=(1, 7, 6, 4)).astype(np.float32)
  stem = op.ConvStem(4, blocks=2)
  params = stem.init(jax.random.key(3), x)["params"]
  params = jax.tree.map(lambda a: jnp.asarray(0.5 * rng.normal(size=a.shape), jnp.float32),
                        params)
  got = np.asarray(stem.apply({"params": params}, x))[0]
  p = jax.tree.map(np.asarray, params)
  # Reflect-pad the input once by 2 * blocks = 4, zero-padded convs, crop 4 (module docs).
  h = np.pad(x[0].astype(np.float64), ((4, 4), (4, 4), (0, 0)), mode="reflect")
  for b in range(2):
    c0, c1 = p[f"block{b}_conv0"], p[f"block{b}_conv1"]
    assert c0["kernel"].shape == (3, 3, 4, 2) and c1["kernel"].shape == (3, 3, 2, 4)
    h = h + _conv_same(_gelu(_conv_same(h, c0["kernel"], c0["bias"])), c1["kernel"], c1["bias"])
  np.testing.assert_allclose(got, h[4:-4, 4:-4], rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("blocks", [1, 2])
def test_a_pixel_reaches_exactly_its_stem_neighbourhood(blocks):
  """The lift with the stem is local: one changed input pixel changes h only within
  2 * blocks pixels (each block has two 3x3 convs), and does reach that far."""
  size, c = 24, 12
  model = op.make_backbone("galerkin", 2, width=8, heads=2, depth=1, local_operators=True,
                           stem_blocks=blocks)
  x = jax.random.normal(jax.random.key(0), (1, size, size, 2))
  cond = jax.random.uniform(jax.random.key(1), (1, size, size, 3))
  t = jnp.array([7])
  params = model.init(jax.random.key(2), x, cond, t)
  lift = lambda xx: model.apply(params, xx, cond, t, method=model.lift)[0]
  diff = np.abs(np.asarray(lift(x.at[0, c, c, 0].add(1.0)) - lift(x)))[0].max(axis=-1)
  r = 2 * blocks
  changed = np.argwhere(diff > 1e-6)
  assert np.abs(changed - c).max() == r  # reaches the edge of the neighbourhood ...
  outside = diff.copy()
  outside[c - r:c + r + 1, c - r:c + r + 1] = 0.0
  assert outside.max() == 0.0            # ... and nothing beyond it


def test_without_local_operators_the_lift_is_pointwise():
  model = op.make_backbone("galerkin", 2, width=8, heads=2, depth=1)
  x = jax.random.normal(jax.random.key(0), (1, 12, 12, 2))
  cond = jax.random.uniform(jax.random.key(1), (1, 12, 12, 3))
  params = model.init(jax.random.key(2), x, cond, jnp.array([7]))
  lift = lambda xx: model.apply(params, xx, cond, jnp.array([7]), method=model.lift)[0]
  diff = np.abs(np.asarray(lift(x.at[0, 5, 6, 0].add(1.0)) - lift(x)))[0].max(axis=-1)
  assert np.argwhere(diff > 0).tolist() == [[5, 6]]


def test_depthwise3x3_equals_grouped_convolution():
  x = jax.random.normal(jax.random.key(0), (2, 9, 7, 5))
  k = jax.random.normal(jax.random.key(1), (3, 3, 5))
  ref = jax.lax.conv_general_dilated(x, k[:, :, None, :], (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                     feature_group_count=5)
  np.testing.assert_allclose(np.asarray(op.depthwise3x3(x, k)), np.asarray(ref), atol=1e-5)
  xr = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
  ref_valid = jax.lax.conv_general_dilated(xr, k[:, :, None, :], (1, 1), "VALID",
                                           dimension_numbers=("NHWC", "HWIO", "NHWC"),
                                           feature_group_count=5)
  np.testing.assert_allclose(np.asarray(op.depthwise3x3(x, k, padding="reflect")),
                             np.asarray(ref_valid), atol=1e-5)
  np.testing.assert_allclose(np.asarray(op.depthwise3x3(xr, k, padding="valid")),
                             np.asarray(ref_valid), atol=1e-5)


def test_srino_params_gain_only_the_backbone_local_parts():
  from srino_jax.model import init_params

  small = dict(bands=4, width=8, heads=2, depth=2, adapter_width=8)
  off = init_params(ModelConfig(**small), jax.random.key(0), pan_size=16)
  on = init_params(ModelConfig(**small, local_operators=True, stem_blocks=1),
                   jax.random.key(0), pan_size=16)
  for group in ("tga", "m2p", "ke"):  # the guidance side is untouched
    jax.tree.map(np.testing.assert_array_equal, on[group], off[group])
  extra = set(flatten_dict(on["backbone"])) - set(flatten_dict(off["backbone"]))
  assert {k[:2] for k in extra} == {("stem", "block0_conv0"), ("stem", "block0_conv1"),
                                    ("ffns_0", "dwconv"), ("ffns_1", "dwconv")}
