"""The tiny model the model tests share: its config, a smooth synthetic batch, fixtures."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import paper_model_config
from srino_jax.guidance import apply_kernel, kernel_prior
from srino_jax.model import init_params

BANDS, SIZE = 4, 16
# The recipe's model at a tiny size, generic f_KE prior (no sensor).
CFG = paper_model_config("qb", sensor=None, width=8, depth=2, heads=2, adapter_width=8)
CFG_NONE = dataclasses.replace(CFG, guidance="none")


def make_batch(seed=0, b=2):
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


def perturb(tree, seed, scale=0.1):
  rng = np.random.default_rng(seed)
  return jax.tree.map(lambda p: p + jnp.asarray(scale * rng.standard_normal(p.shape), p.dtype),
                      tree)


def none_params(params):
  """The "none"-mode tree: the "both" tree without the residual branches."""
  tga = {k: (v if not k.startswith("layers_") else {n: v[n] for n in ("fuse_f", "fuse_v")})
         for k, v in params["tga"].items()}
  return {**params, "tga": tga}


@pytest.fixture(scope="module")
def params():
  return init_params(CFG, jax.random.key(0), pan_size=SIZE)


@pytest.fixture(scope="module")
def batch():
  return make_batch()
