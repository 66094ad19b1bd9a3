"""Run by test_training_sharding.py in a subprocess with 4 simulated CPU devices (XLA_FLAGS
must be set before JAX starts). Prints the max abs difference between a stage-1 and a stage-2 train
step on a 1-device mesh and on a 4-device mesh, for the same global batch."""

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from srino_jax import model as srino
from srino_jax.training import configfile, optim, run, sharding
from srino_jax.training.state import TrainState, make_train_step

BASE = pathlib.Path(__file__).resolve().parents[1] / "configs" / "base.py"


def main():
  assert jax.device_count() == 4, jax.devices()
  config = configfile.load_config(str(BASE), [
      "sensor=qb", "model.width=16", "model.depth=1", "model.heads=2", "model.adapter_width=8",
      "optim.learning_rate=1e-3"])
  cfg = run.model_config(config)
  rng = np.random.default_rng(0)
  n, size = 8, 16
  gt = rng.uniform(0.1, 0.9, (n, size, size, 4)).astype(np.float32)
  batch = {"gt": gt, "lms": gt + 0.05 * rng.standard_normal(gt.shape).astype(np.float32),
           "ms": gt[:, 2::4, 2::4], "pan": gt.mean(-1, keepdims=True)}
  params = srino.init_params(cfg, jax.random.PRNGKey(0), pan_size=size)
  out = {}
  for stage, loss in (("stage1", srino.stage1_loss), ("stage2", srino.stage2_loss)):
    tx = optim.stage_optimizer(config, stage)
    step = make_train_step(lambda p, b, k, loss=loss: loss(cfg, p, b, k), tx)
    results = []
    for devices in (jax.devices()[:1], jax.devices()):
      mesh = sharding.make_mesh(devices)
      state = sharding.replicate(TrainState.create(jax.tree.map(jnp.array, params), tx), mesh)
      for i in range(2):
        state, metrics = step(state, sharding.shard_batch(batch, mesh), jax.random.PRNGKey(i))
        jax.block_until_ready(metrics)
      ndev = len(jax.tree.leaves(state.params)[0].sharding.device_set)
      results.append((jax.device_get(state.params), float(metrics["loss"]), ndev))
    (p1, l1, _), (p4, l4, ndev) = results
    diff = max(float(np.max(np.abs(a - b))) for a, b in
               zip(jax.tree.leaves(p1), jax.tree.leaves(p4)))
    out[stage] = {"param_diff": diff, "loss_1": l1, "loss_4": l4, "devices": ndev}
  print(json.dumps(out))


if __name__ == "__main__":
  main()
