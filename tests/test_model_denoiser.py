"""srino_jax.model.denoiser: init_params' parameter groups; the untrained stage-2 denoiser is the
stage-1 denoiser with condition L."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np

from srino_jax.model import init_params

from _tiny_model import CFG, CFG_NONE, SIZE, batch, none_params, params


def test_init_params_groups(params):
  assert set(params) == {"backbone", "tga", "m2p", "ke"}
  for leaf in jax.tree.leaves(params):
    assert leaf.dtype == jnp.float32
  chex.assert_tree_all_finite(params)
  # The "none" tree is the "both" tree minus the residual branches (shapes via eval_shape).
  none_shapes = jax.eval_shape(lambda k: init_params(CFG_NONE, k, SIZE), jax.random.key(0))
  assert (jax.tree.structure(none_shapes) == jax.tree.structure(none_params(params)))


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
