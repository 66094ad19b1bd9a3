"""Data parallelism: a train step on 4 simulated devices equals the 1-device step."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from srino_jax.training import sharding


def test_4_device_step_equals_1_device_step():
  script = pathlib.Path(__file__).with_name("_sharded_step.py")
  # The subprocess imports this checkout's srino_jax (not another installed copy).
  path = os.pathsep.join(p for p in (str(script.parents[1]), os.environ.get("PYTHONPATH")) if p)
  env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4",
         "JAX_PLATFORMS": "cpu", "PYTHONPATH": path}
  proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out = json.loads(proc.stdout.strip().splitlines()[-1])
  for stage, r in out.items():
    assert r["devices"] == 4, (stage, r)
    # Same global batch: only the all-reduce's summation order differs (float32).
    np.testing.assert_allclose(r["loss_4"], r["loss_1"], rtol=1e-5, err_msg=stage)
    assert r["param_diff"] < 1e-5, (stage, r)


def test_batch_not_divisible_by_devices_is_named():
  import jax
  mesh = sharding.make_mesh(jax.devices()[:1])
  out = sharding.shard_batch({"pan": np.zeros((3, 4, 4, 1), np.float32)}, mesh)
  assert out["pan"].shape == (3, 4, 4, 1)
  with pytest.raises(ValueError, match="multiple of the 2 devices"):
    fake = type("M", (), {"devices": np.zeros(2)})()
    sharding.shard_batch({"pan": np.zeros((3, 4, 4, 1), np.float32)}, fake)
