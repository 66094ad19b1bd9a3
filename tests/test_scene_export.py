"""python -m srino_jax.scene.export: PanCollection .h5 test sets and fused results to the
toolbox's .mat files."""

import h5py
import numpy as np
import pytest
import scipy.io

from _reliability import one_error
from srino_jax.scene import export


def _h5(path, arrays):
  with h5py.File(path, "w") as f:
    for k, v in arrays.items():
      f[k] = v
  return str(path)


def test_h5_test_set_and_sample_output_become_one_mat_per_scene(tmp_path, capsys):
  rng = np.random.default_rng(0)
  n, c = 2, 4
  data = {"gt": rng.integers(1, 2047, (n, c, 32, 32)).astype(np.float64),
          "ms": rng.integers(1, 2047, (n, c, 8, 8)).astype(np.float64),
          "lms": rng.integers(1, 2047, (n, c, 32, 32)).astype(np.float64),
          "pan": rng.integers(1, 2047, (n, 1, 32, 32)).astype(np.float64)}
  sr = rng.uniform(0, 2047, (n, c, 32, 32))
  sr_std = rng.uniform(0, 5, (n, c, 32, 32))
  test_set = _h5(tmp_path / "test_qb.h5", data)
  fused = _h5(tmp_path / "sr.h5", {"sr": sr, "sr_std": sr_std})
  rc = export.main(["--input", test_set, "--fused", fused, "--sensor", "qb",
                    "--output", str(tmp_path / "out" / "qb.mat")])
  assert rc == 0
  for i in range(n):
    m = scipy.io.loadmat(tmp_path / "out" / f"qb_{i + 1}.mat")
    nhwc = lambda a: np.moveaxis(a[i], 0, -1)  # noqa: E731
    np.testing.assert_allclose(m["I_SR"], nhwc(sr), rtol=1e-12)
    np.testing.assert_allclose(m["sr"], nhwc(sr) / 2047.0, rtol=1e-12)
    np.testing.assert_allclose(m["I_SR_std"], nhwc(sr_std), rtol=1e-12)
    # Inputs go through float32 model units (/ 2047) and back: exact to float32 rounding.
    np.testing.assert_allclose(m["I_GT"], nhwc(data["gt"]), rtol=1e-6)
    np.testing.assert_allclose(m["I_MS_LR"], nhwc(data["ms"]), rtol=1e-6)
    np.testing.assert_allclose(m["I_PAN"], data["pan"][i, 0], rtol=1e-6)
    assert str(m["sensor"][0]) == "QB" and m["ratio"].item() == 4 and m["L"].item() == 11
  # A fused file of another size is a bad input (exit 3), one line naming it.
  bad = _h5(tmp_path / "bad.h5", {"sr": sr[:, :, :16]})
  capsys.readouterr()
  assert export.main(["--input", test_set, "--fused", bad, "--sensor", "qb",
                      "--output", str(tmp_path / "bad.mat")]) == 3
  one_error(capsys.readouterr().err, "bad.h5", "does not match the input's")
  assert not (tmp_path / "bad_1.mat").exists()


@pytest.mark.parametrize("case, code, needles", [
    ("bad-flag", 2, ["python -m srino_jax.scene.export", "--frobnicate"]),
    ("no-output", 2, ["the following arguments are required: --output"]),
    ("bad-sensor", 2, ["--sensor", "unknown sensor 'landsat'", "qb"]),
    ("bad-method", 2, ["--method", "unknown method 'foo'", "mtf-glp-hpm"]),
    ("missing-input", 3, ["absent.h5"]),
    ("missing-key", 3, ["sr.h5", "no dataset 'sr'"]),
    ("output-exists", 5, ["qb_1.mat exists", "--overwrite"]),
])
def test_errors_are_one_line_with_their_exit_code(tmp_path, capsys, case, code, needles):
  rng = np.random.default_rng(1)
  data = {k: rng.integers(1, 2047, (2, c, s, s)).astype(np.float64)
          for k, c, s in (("gt", 4, 32), ("ms", 4, 8), ("lms", 4, 32), ("pan", 1, 32))}
  test_set = _h5(tmp_path / "test_qb.h5", data)
  fused = _h5(tmp_path / "sr.h5", {"other": rng.uniform(0, 2047, (2, 4, 32, 32))})
  (tmp_path / "qb_1.mat").write_bytes(b"old")
  args = {"--input": test_set, "--sensor": "qb", "--method": "exp",
          "--output": str(tmp_path / "qb.mat")}
  args.update({"bad-flag": {"--frobnicate": "1"}, "no-output": {"--output": None},
               "bad-sensor": {"--sensor": "landsat"}, "bad-method": {"--method": "foo"},
               "missing-input": {"--input": str(tmp_path / "absent.h5")},
               "missing-key": {"--method": None, "--fused": fused},
               "output-exists": {}}[case])
  argv = [a for flag, value in args.items() if value is not None for a in (flag, value)]
  before = sorted(p.name for p in tmp_path.iterdir())
  capsys.readouterr()
  assert export.main(argv) == code
  one_error(capsys.readouterr().err, *needles)
  assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written
  assert (tmp_path / "qb_1.mat").read_bytes() == b"old"


def test_help_exits_zero(capsys):
  assert export.main(["--help"]) == 0
  assert "--debug" in capsys.readouterr().out
