"""python -m srino_jax.scene.export: PanCollection .h5 test sets and fused results to the
toolbox's .mat files."""

import h5py
import numpy as np
import scipy.io

from srino_jax.scene import export


def _h5(path, arrays):
  with h5py.File(path, "w") as f:
    for k, v in arrays.items():
      f[k] = v
  return str(path)


def test_h5_test_set_and_sample_output_become_one_mat_per_scene(tmp_path):
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
  # A fused file of another size is refused, naming it.
  bad = _h5(tmp_path / "bad.h5", {"sr": sr[:, :, :16]})
  assert export.main(["--input", test_set, "--fused", bad, "--sensor", "qb",
                      "--output", str(tmp_path / "bad.mat")]) == 2
  assert not (tmp_path / "bad_1.mat").exists()
