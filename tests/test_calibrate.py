"""python -m srino_jax.calibrate and what sample.py does with it: the conformal scales of a
trained run's K-sample spread on its validation data, valid only for that sampler."""

import json
import os

import h5py
import numpy as np
import pytest

from conftest import as_run
from srino_jax import calibrate as calibrate_cli, inference
from srino_jax.metrics.uncertainty import coverage
from srino_jax.training.calibration import CALIBRATION_FILE, calibrate, scale_for
from srino_jax.training.datasets import validation_set
from _reliability_runs import script_main


@pytest.mark.slow
def test_calibrated_scales_cover_the_validation_errors(trained, tmp_path):
  import shutil
  import jax
  work = str(tmp_path / "run")
  shutil.copytree(trained, work)
  run = inference.Run.load(work)
  params = run.params()
  got = calibrate(run, params, 3)
  assert set(got["scales"]) == {"0.68", "0.9", "0.95"}
  assert got["scales"]["0.68"] <= got["scales"]["0.9"] <= got["scales"]["0.95"]
  # By construction the bars hold at least their level of the very errors measured.
  data = validation_set(run)
  mean, std = inference.fuse_scenes(inference.make_fuser(run, params, 3), data,
                                    jax.random.key(0))
  err = mean - data["gt"]
  for level, c in got["scales"].items():
    assert coverage(err, c * std) >= float(level)
  # The command stores it; only the same sampler finds it.
  assert calibrate_cli.main(["--workdir", work, "--num-samples", "3"]) == 0
  with open(os.path.join(work, CALIBRATION_FILE)) as f:
    stored = json.load(f)
  assert stored["settings"]["num_samples"] == 3 and stored["settings"]["stage"] == "stage2"
  assert scale_for(run, 0.9, 3) == stored["scales"]["0.9"]
  assert scale_for(run, 0.9, 4) is None and scale_for(run, 0.9, 3, steps=2) is None


@pytest.mark.slow
def test_sample_writes_the_calibrated_bar_beside_the_spread(trained, tiny_run, tmp_path):
  import shutil
  work = str(tmp_path / "run")
  shutil.copytree(trained, work)
  assert calibrate_cli.main(["--workdir", work, "--num-samples", "2"]) == 0
  scale = scale_for(inference.Run.load(work), 0.9, 2)
  out = tmp_path / "sr.h5"
  test = as_run(tiny_run).data_path("test")
  assert script_main("sample")(["--workdir", work, "--input", test, "--output", str(out),
                                "--num-samples", "2", "--no-table"]) == 0
  with h5py.File(out) as f:
    np.testing.assert_allclose(f["sr_err90"][()], scale * f["sr_std"][()], rtol=1e-5)
    assert f.attrs["err90_nominal_coverage"] == 0.9
  other = tmp_path / "sr4.h5"  # another K: no calibration for it, no bar
  assert script_main("sample")(["--workdir", work, "--input", test, "--output", str(other),
                                "--num-samples", "3", "--no-table"]) == 0
  with h5py.File(other) as f:
    assert "sr_err90" not in f and "sr_std" in f


def test_one_sample_has_no_spread_to_calibrate(trained, capsys):
  assert calibrate_cli.main(["--workdir", trained, "--num-samples", "1"]) == 2
  assert "K >= 2" in capsys.readouterr().err
