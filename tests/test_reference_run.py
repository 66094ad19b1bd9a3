"""A tiny training run and its fusions against the outputs saved from commit c10c0e0, before
the issue-15 refactor (`tests/data/make_reference_run.py` made them through train.py and
sample.py): the per-step training losses of aux, stage1, stage2 and PNN, and the fusions of
the last stage-2 and PNN weights (K = 2 samples, eta 0.5, seed 3).

The refactor kept the training streams (a stage's stream id is the registry position it had)
and changed only the validation stream of new runs, which neither the training losses nor
the last weights see. On the CPU that made the file the values are equal bit for bit; the
tolerances leave room for another CPU type's float rounding (XLA picks other kernels).
"""

import pathlib
import json
import os

import jax
import numpy as np
import pytest

from conftest import as_run, with_overrides
from srino_jax import inference
from srino_jax.training import loop

REFERENCE = pathlib.Path(__file__).parent / "data" / "reference_run_c10c0e0.npz"
SEED, SAMPLES, ETA = 3, 2, 0.5  # make_reference_run.SAMPLE_FLAGS


@pytest.fixture(scope="module")
def reference():
  return np.load(REFERENCE)


def _losses(workdir, stage):
  with open(os.path.join(workdir, "logs", stage, "metrics.jsonl")) as f:
    return np.array([r["train/loss"] for r in map(json.loads, f) if "train/loss" in r])


def _fused(run, data):
  """sample.py's output (digital numbers) for the last weights of `run`'s stage."""
  fuse = inference.make_fuser(run, run.params(), SAMPLES, eta=ETA)
  mean, std = inference.fuse_scenes(fuse, data, jax.random.key(SEED))
  to_dn = lambda x: np.moveaxis(np.asarray(x, np.float64) * 2047.0, -1, 1)  # noqa: E731
  return to_dn(mean), to_dn(std)


@pytest.mark.slow
def test_srino_stages_train_and_fuse_as_before(tiny_run, trained, reference):
  for stage in ("aux", "stage1", "stage2"):
    np.testing.assert_allclose(_losses(trained, stage), reference[f"loss_{stage}"], rtol=1e-5)
  data = inference.read_input(as_run(tiny_run).data_path("test"), "qb")[0]
  mean, std = _fused(inference.Run.load(trained, which="last"), data)
  np.testing.assert_allclose(mean, reference["sr_stage2"], rtol=1e-5, atol=1e-3)
  np.testing.assert_allclose(std, reference["sr_std_stage2"], rtol=1e-4, atol=1e-3)
  assert std.max() > 1.0  # eta > 0: the two samples differ, so the noise streams are pinned


@pytest.mark.slow
def test_pnn_trains_and_fuses_as_before(tiny_run, tmp_path, reference):
  run = as_run(with_overrides(tiny_run, "train.pnn_steps=4"), tmp_path)
  loop.train(run, ("pnn",), progress=False)
  np.testing.assert_allclose(_losses(tmp_path, "pnn"), reference["loss_pnn"], rtol=1e-5)
  data = inference.read_input(run.data_path("test"), "qb")[0]
  mean, std = _fused(inference.Run.load(str(tmp_path), which="last", stage="pnn"), data)
  np.testing.assert_allclose(mean, reference["sr_pnn"], rtol=1e-5, atol=1e-3)
  np.testing.assert_array_equal(std, 0.0)  # one deterministic pass per sample
