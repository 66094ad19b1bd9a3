"""Synthetic scenes and datasets: determinism, realism statistics, Wald consistency, files;
reliability of `python -m srino_jax.synthetic` (issue 11): exit code, one-line message, files
left, SIGTERM during an h5 write (a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from srino_jax.toolbox.interp import interp23tap
from srino_jax.synthetic.landcover import MATERIAL_NAMES
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.data.pancollection import read_pancollection
from srino_jax.synthetic import (MATERIALS, band_centres, make_synthetic_dataset, main,
                                      material_spectra, pan_weights, synthesize_scene)
from srino_jax.toolbox.wald import wald_degrade
from srino_jax.sensors import Sensor, get_sensor

from _reliability import (ROOT, SYN, listing as _listing, one_error as _one_error,
                          run as _run)

SMALL = dict(num_train=12, num_valid=3, num_test=2, test_size=64, patch_size=32, scene_size=64,
             orig_size=48)


def _bands(sensor):
  """(visible bands, red, NIR) indices for 8- and 4-band layouts."""
  return ([1, 2, 4], 4, 6) if sensor.bands == 8 else ([0, 1, 2], 2, 3)


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
  out = tmp_path_factory.mktemp("syn")
  return make_synthetic_dataset(out, "wv3", seed=7, **SMALL), out


def test_same_seed_identical_bytes_other_seed_differs(small_set, tmp_path):
  paths, _ = small_set
  again = make_synthetic_dataset(tmp_path / "again", "wv3", seed=7, **SMALL)
  for key, path in paths.items():
    assert path.read_bytes() == again[key].read_bytes(), key
  other = make_synthetic_dataset(tmp_path / "other", "wv3", seed=8, **SMALL)
  for key in paths:
    a, b = (read_pancollection(p[key], "wv3") for p in (paths, other))
    assert a["pan"].shape == b["pan"].shape and not np.array_equal(a["pan"], b["pan"])


def test_files_layout_and_validation(small_set):
  paths, out = small_set
  assert sorted(p.name for p in out.iterdir()) == sorted(
      ["train_wv3.h5", "valid_wv3.h5", "test_wv3_multiExm1.h5", "test_wv3_OrigScale_multiExm1.h5"])
  expect = {"train": (12, 32, True), "valid": (3, 32, True), "test": (2, 64, True),
            "test_full": (2, 48, False)}
  for key, (n, size, has_gt) in expect.items():
    data = read_pancollection(paths[key], "wv3")  # passes the reader's validation
    assert ("gt" in data) == has_gt and not data.already_scaled
    assert data["pan"].shape == (n, size, size, 1) and data["ms"].shape == (n, size // 4,
                                                                          size // 4, 8)
    for k, v in data.items():  # interp23tap's negative lobes over/undershoot at edges
      lo, hi = (-0.1, 1.1) if k == "lms" else (0.0, 1.0)
      assert lo <= v.min() and v.max() <= hi, k
  # The observed images (full-resolution MS = reduced-set gt, full-resolution PAN) are
  # whole digital numbers in the 11-bit range.
  for key, name in (("test", "gt"), ("test_full", "ms"), ("test_full", "pan")):
    with h5py.File(paths[key], "r") as f:
      raw = f[name][()]
    np.testing.assert_array_equal(raw, np.round(raw))
    assert raw.max() <= 2047 and raw.min() >= 0 and raw.max() > 500


def test_wald_consistency(small_set):
  paths, _ = small_set
  test = read_pancollection(paths["test"], "wv3", scale=1.0)  # digital numbers
  for gt, ms, lms in zip(test["gt"], test["ms"], test["lms"]):
    ms_ref, _ = wald_degrade(gt, np.zeros((256, 256, 1)), "wv3")  # (PAN is not stored)
    np.testing.assert_allclose(ms, ms_ref, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(lms, interp23tap(ms), rtol=1e-5, atol=1e-2)
  full = read_pancollection(paths["test_full"], "wv3", scale=1.0)
  for ms, lms in zip(full["ms"], full["lms"]):
    np.testing.assert_allclose(lms, interp23tap(ms), rtol=1e-5, atol=1e-2)
  # Train patches are aligned crops of whole reduced scenes: lms passes through ms.
  train = read_pancollection(paths["train"], "wv3", scale=1.0)
  np.testing.assert_allclose(train["lms"][:, 2::4, 2::4], train["ms"], rtol=1e-5, atol=1e-2)


@pytest.mark.parametrize("name", ["wv3", "qb"])
def test_scene_statistics_are_satellite_like(name):
  sensor = get_sensor(name)
  vis, red, nir = _bands(sensor)
  corr_vis, corr_pan, veg_ratio, water_ratio = [], [], [], []
  for seed in range(4):
    sc = synthesize_scene(np.random.default_rng([11, seed]), sensor, 384, keep_abundance=True)
    x = sc.ms.reshape(-1, sensor.bands)
    c = np.corrcoef(x[:, vis].T)
    corr_vis.append(c[np.triu_indices(len(vis), 1)].mean())
    corr_pan.append(np.corrcoef(sc.pan.ravel(), sc.truth.mean(-1).ravel())[0, 1])
    # Material fractions on the MS grid: pixels of nearly pure vegetation / water.
    ab = sc.abundance.reshape(96, 4, 96, 4, -1).mean((1, 3))
    veg = ab[..., MATERIAL_NAMES.index("vegetation")] > 0.9
    water = ab[..., [MATERIAL_NAMES.index("water"), MATERIAL_NAMES.index("turbid_water")]
               ].sum(-1) > 0.9
    veg_ratio.append(sc.ms[veg][:, nir] / sc.ms[veg][:, red])
    water_ratio.append(sc.ms[water][:, nir] / np.maximum(sc.ms[water][:, red], 1))
  veg_ratio, water_ratio = np.concatenate(veg_ratio), np.concatenate(water_ratio)
  assert np.mean(corr_vis) > 0.8, corr_vis  # visible bands move together
  assert np.mean(corr_pan) > 0.9 and min(corr_pan) > 0.8, corr_pan  # PAN follows band mean
  # Red edge: NIR/red > 2 on vegetation (lower only in deep shade, under the haze).
  assert veg_ratio.size > 100 and np.median(veg_ratio) > 2 and np.mean(veg_ratio > 2) > 0.75
  assert water_ratio.size == 0 or np.median(water_ratio) < 1  # water is dark in the NIR
  # Inter-band correlation is partial, not total: NIR decouples from the visible.
  assert np.corrcoef(sc.ms[..., red].ravel(), sc.ms[..., nir].ravel())[0, 1] < 0.9


def test_observation_model():
  """MS = MTF + decimation of the truth plus noise; PAN = weighted sum + noise, both DN."""
  sensor = get_sensor("qb")
  sc = synthesize_scene(np.random.default_rng(3), sensor, 256)
  ref = mtf_filter(sc.truth, sensor)[2::4, 2::4]
  resid = sc.ms - ref
  expected = 0.0015 * 2047 + 0.004 * ref  # the noise model's standard deviation
  z = resid / expected
  assert abs(z.mean()) < 0.1 and 0.85 < z.std() < 1.15
  np.testing.assert_array_equal(sc.ms, np.round(sc.ms))
  # PAN is explained by a linear mix of the bands (what component-substitution methods
  # assume), though not exactly: it integrates its own broad response, with its own blur.
  x = np.concatenate([sc.truth.reshape(-1, 4), np.ones((256 * 256, 1))], 1)
  y = sc.pan.ravel()
  coef, *_ = np.linalg.lstsq(x, y, rcond=None)
  r2 = 1 - np.var(y - x @ coef) / np.var(y)
  assert 0.95 < r2 < 0.9999, r2
  assert np.corrcoef(y, (sc.truth @ pan_weights(sensor)).ravel())[0, 1] > 0.9


def test_spectra_tables():
  s = get_sensor("wv3")
  spec = material_spectra(s)
  assert spec.shape == (len(MATERIAL_NAMES), 8) and tuple(MATERIALS) == MATERIAL_NAMES
  veg = spec[MATERIAL_NAMES.index("vegetation")]
  assert veg[6] / veg[4] > 5 and veg[2] > veg[1] and veg[2] > veg[4]  # red edge, green peak
  water = spec[MATERIAL_NAMES.index("water")]
  assert water[6] < water[1] / 4
  np.testing.assert_allclose(pan_weights(s).sum(), 1.0)
  np.testing.assert_allclose(band_centres("qb"), [485, 560, 660, 830])


def test_any_registered_sensor():
  """A 6-band user sensor: band centres spread over 450-900 nm, and a scene renders."""
  custom = Sensor("TEST6", 6, 4095.0, (0.3,) * 6, 0.15, rgb=(2, 1, 0))
  np.testing.assert_allclose(band_centres(custom), np.linspace(450, 900, 6))
  sc = synthesize_scene(np.random.default_rng(0), custom, 64)
  assert sc.ms.shape == (16, 16, 6) and sc.pan.shape == (64, 64, 1)
  assert 0 <= sc.ms.min() and sc.ms.max() <= 4095 and sc.ms.max() > 500
  gf2 = synthesize_scene(np.random.default_rng(0), "gf2", 64)
  assert gf2.ms.max() <= 1023 and gf2.ms.shape[-1] == 4


def test_cli_and_overwrite(tmp_path, capsys):
  args = ["--sensor", "qb", "--out", str(tmp_path), "--train", "2", "--valid", "0",
          "--test", "1", "--size", "32", "--patch", "16", "--no-progress"]
  assert main(args) == 0
  assert "train:" in capsys.readouterr().out
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      "test_qb_OrigScale_multiExm1.h5", "test_qb_multiExm1.h5", "train_qb.h5"]
  before = (tmp_path / "train_qb.h5").read_bytes()
  with pytest.raises(FileExistsError, match="train_qb.h5"):  # the library refuses ...
    make_synthetic_dataset(tmp_path, "qb", num_train=2, num_valid=0, num_test=1,
                           test_size=32, patch_size=16)
  assert main(args) == 5  # ... and the command line says so in one line (exit 5: output)
  err = capsys.readouterr().err
  assert "train_qb.h5 exists" in err and "--overwrite" in err and len(err.splitlines()) == 1
  assert (tmp_path / "train_qb.h5").read_bytes() == before
  main(args + ["--overwrite", "--seed", "1"])
  assert (tmp_path / "train_qb.h5").read_bytes() != before


@pytest.mark.parametrize("size", [16, 48, (32, 160)])
def test_small_and_oblong_scenes(size):
  """Any size (multiple of r) renders; material fractions are a partition of each pixel."""
  for seed in range(6):
    sc = synthesize_scene(np.random.default_rng(seed), "qb", size, keep_abundance=True)
    h, w = (size, size) if np.isscalar(size) else size
    assert sc.pan.shape == (h, w, 1) and sc.ms.shape == (h // 4, w // 4, 4)
    np.testing.assert_allclose(sc.abundance.sum(-1), 1.0, atol=1e-4)
    assert sc.abundance.min() >= 0
  with pytest.raises(ValueError, match="multiple of the ratio"):
    synthesize_scene(np.random.default_rng(0), "qb", 30)


# ------------------------------------------------------------------ synthetic


@pytest.mark.parametrize("change, needles", [
    ({"--train": "-5"}, ["--train", "integer >= 0", "-5"]),
    ({"--valid": "-1"}, ["--valid", "integer >= 0"]),
    ({"--size": "0"}, ["--size", "integer > 0"]),
    ({"--patch": "30"}, ["patch_size", "multiple of the ratio 4"]),
    ({"--train": "0", "--test": "0"}, ["nothing to write"]),
    ({"--sensor": "landsat"}, ["--sensor", "LANDSAT"]),
    ({"--stride": "x"}, ["--stride", "expected an integer > 0", "'x'"]),
])
def test_synthetic_bad_arguments(tmp_path, capsys, change, needles):
  argv = list(SYN)
  for flag, value in change.items():
    if flag in argv:
      argv[argv.index(flag) + 1] = value
    else:
      argv += [flag, value]
  code, out, err = _run("synthetic", argv + ["--out", tmp_path / "out"], capsys)
  assert code == 2 and out == ""
  _one_error(err, *needles)
  assert not (tmp_path / "out").exists()  # nothing written, not even the folder


def test_synthetic_existing_output_and_file_as_folder(tmp_path, capsys):
  out = tmp_path / "out"
  out.mkdir()
  (out / "train_qb.h5").write_bytes(b"old")
  code, _, err = _run("synthetic", SYN + ["--out", out], capsys)
  assert code == 5
  _one_error(err, "train_qb.h5 exists", "--overwrite")
  assert _listing(out) == ["train_qb.h5"] and (out / "train_qb.h5").read_bytes() == b"old"
  (tmp_path / "plain").write_text("x")
  code, _, err = _run("synthetic", SYN + ["--out", tmp_path / "plain" / "sub"], capsys)
  assert code == 5
  _one_error(err, "plain is a file, not a folder")


def test_sigterm_during_an_h5_write_of_the_cli(tmp_path):
  """`python -m srino_jax.synthetic --overwrite` killed while writing its first h5 file."""
  out = tmp_path / "out"
  out.mkdir()
  (out / "train_qb.h5").write_bytes(b"old")
  child = textwrap.dedent("""
      import os, signal, sys
      import h5py
      real = h5py.Group.create_dataset
      def create(self, *a, **k):  # SIGTERM arrives between two datasets of the file
        d = real(self, *a, **k)
        os.kill(os.getpid(), signal.SIGTERM)
        return d
      h5py.Group.create_dataset = create
      from srino_jax.synthetic.generate import main
      sys.exit(main(sys.argv[1:]))
      """)
  env = dict(os.environ, PYTHONPATH=str(ROOT))
  proc = subprocess.run([sys.executable, "-c", child] + SYN + ["--out", str(out), "--overwrite"],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
  assert proc.returncode == 143
  _one_error(proc.stderr, "interrupted by SIGTERM")
  assert _listing(out) == ["train_qb.h5"] and (out / "train_qb.h5").read_bytes() == b"old"
