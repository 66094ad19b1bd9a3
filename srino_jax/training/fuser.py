"""One fuser for every caller: a run's stage, its parameters and the sampling settings,
jitted once.

  fuse = make_fuser(run, params, num_samples=4)       build once (compiles on first call)
  mean, std = fuse(scenes, keys)                      call per batch of scenes / windows
  mean, std = fuse_scenes(fuse, data, key)            or over a whole stack, in batches

`sample.py`, `demo.py`, the learned baselines' rows, validation and the scene tool all fuse
through it (validation lives here in `training/`, so this module does too; `inference`
re-exports it). There is no hidden cache: a caller that fuses many windows keeps its fuser.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import tqdm

from srino_jax import cli
from srino_jax.training.run import Run
from srino_jax.training.stages import get_stage

__all__ = ["Fuser", "make_fuser", "fuse_scenes", "SCENE_KEYS"]

# What a fuser reads of a batch ("origin" optional).
SCENE_KEYS = ("lms", "ms", "pan")


@dataclasses.dataclass(frozen=True)
class Fuser:
  """`fuse(scenes, keys) -> (mean, std)` with its parameters (see `make_fuser`).

  Attributes:
    compiled: the jitted `f(params, scenes, keys) -> (mean, std)`.
    params: the parameters it fuses with.
    samples: K, the samples each scene's mean and std summarise (1 for a deterministic
      stage, whatever was asked).
  """

  compiled: Callable[[Any, dict, jax.Array], tuple[jax.Array, jax.Array]]
  params: Any
  samples: int

  def __call__(self, scenes: dict, keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    return self.compiled(self.params, scenes, keys)

  def with_params(self, params: Any) -> "Fuser":
    """The same compiled fuser with other parameters of the same shapes (validation: one
    compile for every checkpoint)."""
    return dataclasses.replace(self, params=params)


def make_fuser(run: Run, params: Any, num_samples: int | None = None, steps: int | None = None,
               eta: float | None = None, on_step: Callable[[int], Any] | None = None) -> Fuser:
  """`fuse(scenes, keys) -> (mean, std)`: the run's stage (`run.stage`) fusing a batch.

  Each scene is fused alone (batch 1) K = num_samples times, vmapped over scenes and
  samples, so a scene's result does not depend on the other scenes of the batch; scene b's
  samples use split(keys[b], K). A deterministic stage (`Stage.stochastic` False: the
  learned baselines) is fused once; its std is 0.

  Args:
    run: the run (its ModelConfig, its stage and default sampling settings).
    params: the stage's parameters (a jit argument, not a compiled-in constant).
    num_samples, steps, eta: K samples per scene (summarised by their mean and std) and the
      DDIM settings; default: the run's `sampling`.
    on_step: host callback `on_step(i)` after DDIM step i (fires once per scene, sample
      and step, in any order under the vmap: make it idempotent and monotone). A sampler
      with a callback is not kept in JAX's persistent compilation cache.

  Returns:
    A `Fuser`, fuse(scenes, keys): scenes a dict of (B, ...) NHWC model-unit arrays with lms, ms, pan
    and optionally "origin" (B, 2) int32 (SRINO's positional noise); keys (B,) PRNG keys.
    Returns (mean, std), (B, H, W, C) float32 model units (std 0 when K = 1).

  Raises:
    ValueError: the stage has no fusion, or num_samples < 1.
  """
  record = get_stage(run.stage)
  if record.fuse is None:
    raise ValueError(f"stage {record.name!r} has no fusion: load a stage that fuses")
  k = int(run.sampling.num_samples if num_samples is None else num_samples)
  if k < 1:
    raise ValueError(f"num_samples must be >= 1, got {k}")
  if not record.stochastic:  # K identical passes would give the same mean and std 0
    k = 1
  steps = int(run.sampling.steps if steps is None else steps)
  eta = float(run.sampling.eta if eta is None else eta)
  cfg, kw = run.model, ({} if on_step is None else {"on_step": on_step})

  def one(p, scene, key):
    return record.fuse(cfg, p, jax.tree.map(lambda x: x[None], scene), key, steps, eta, **kw)[0]

  @jax.jit
  def fuse_batch(p, scenes, keys):
    b = keys.shape[0]
    sample_keys = jax.vmap(lambda key: jax.random.split(key, k))(keys)
    sample_keys = sample_keys.reshape((b * k,) + sample_keys.shape[2:])  # raw keys: (.., 2)
    repeated = jax.tree.map(lambda x: jnp.repeat(x, k, axis=0), scenes)
    ys = jax.vmap(one, in_axes=(None, 0, 0))(p, repeated, sample_keys)
    ys = ys.reshape((b, k) + ys.shape[1:])
    return ys.mean(1), ys.std(1)

  return Fuser(fuse_batch, params, k)


def fuse_scenes(fuse: Fuser, data: dict[str, np.ndarray], key: jax.Array, batch_size: int = 1,
                progress: bool = False, desc: str = "sampling") -> tuple[np.ndarray, np.ndarray]:
  """Fuses every scene of `data` with `fuse`, batch_size scenes per call.

  Args:
    fuse: `make_fuser`'s function.
    data: NHWC model-unit arrays with at least lms, ms, pan; optionally "origin" (N, 2)
      int, each scene's top-left output pixel (row, col) in its product's grid. With it the
      scenes are windows of one product: every scene uses `key` itself and SRINO's noise
      is positional (a pixel gets the same noise whichever window fuses it).
    key: PRNG key; without "origin" scene i uses fold_in(key, i). Either way the results
      do not depend on batch_size.
    batch_size: scenes per call (the last batch is padded: one compiled shape).
    progress: show a bar over the calls.
    desc: the bar's label.

  Returns:
    (mean, std): (N, H, W, C) float32 model units.
  """
  n = data["pan"].shape[0]
  positional = data.get("origin") is not None
  names = SCENE_KEYS + (("origin",) if positional else ())
  means, stds = [], []
  for i in tqdm.trange(0, n, batch_size, desc=desc, disable=not progress):
    cli.check_interrupted()  # a signal deferred by the caller stops between calls
    idx = np.minimum(np.arange(i, i + batch_size), n - 1)
    scenes = {k: jnp.asarray(data[k][idx]) for k in names}
    # Windows of one product share the key: their noise is a field over the product grid.
    keys = jnp.stack([key if positional else jax.random.fold_in(key, int(j)) for j in idx])
    mean, std = fuse(scenes, keys)
    keep = min(batch_size, n - i)
    means.append(np.asarray(mean[:keep]))
    stds.append(np.asarray(std[:keep]))
  return np.concatenate(means), np.concatenate(stds)
