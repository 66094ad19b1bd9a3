"""The evaluation entry point: numbers printed / written equal direct calls of the indices;
its reliability (issue 11): bad files, bad arguments, existing or unwritable outputs, a full
disk, dark data.

Every reliability case asserts the exit code (srino_jax.errors), that stderr is ONE line
`error: ...` naming the problem (no traceback), and which files exist afterwards, calling
`main(argv)` in process. cli.run's --debug and bug tracebacks: test_cli.py; the dataset tools:
test_synthetic_generate.py, test_data_make_dataset.py; signals during a write: test_atomic.py.
"""

from __future__ import annotations

import csv
import json
import errno

import h5py
import numpy as np
import pytest

from srino_jax import evaluate, cli
from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter
from srino_jax.metrics import format_table, full_resolution, make_row, reduced_resolution
from srino_jax.data.pancollection import write_pancollection

from _reliability import listing as _listing, one_error as _one_error, run as _run


def _nchw(stack):
  return np.transpose(np.asarray(stack), (0, 3, 1, 2))


def _scenes(n=2, size=64, bands=4, seed=0):
  rng = np.random.default_rng(seed)
  gt = rng.uniform(100, 1800, (n, size, size, bands))
  pan = gt.mean(axis=-1, keepdims=True) + rng.normal(0, 5, (n, size, size, 1))
  ms = np.stack([mtf_filter(g, "qb")[2::4, 2::4] for g in gt])
  lms = np.stack([interp23tap(m) for m in ms])
  return {"gt": gt, "ms": ms, "lms": lms, "pan": pan}


def _write(path, arrays, scale=1.0):
  with h5py.File(path, "w") as f:
    for k, v in arrays.items():
      f[k] = _nchw(v) / scale
  return path


def test_reduced_resolution_cli_matches_direct_calls(tmp_path, capsys):
  scenes = _scenes()
  rng = np.random.default_rng(1)
  sr = scenes["gt"] + rng.normal(0, 20, scenes["gt"].shape)
  inp = _write(tmp_path / "rr.h5", scenes)
  out = _write(tmp_path / "sr.h5", {"sr": sr})
  js, cs = tmp_path / "s.json", tmp_path / "s.csv"
  code = evaluate.main(["--input", str(inp), "--sensor", "qb", "--methods", "exp",
                        "--fused", str(out), "--fused-name", "SRINO",
                        "--json", str(js), "--csv", str(cs)])
  assert code == 0
  printed = capsys.readouterr().out
  rows = {r["method"]: r for r in json.loads(js.read_text())["rows"]}
  assert list(rows) == ["EXP", "SRINO"]
  fused = {"EXP": scenes["lms"], "SRINO": sr}   # EXP is interp23tap of the MS
  for name, stack in fused.items():
    direct = [reduced_resolution(stack[i], scenes["gt"][i], "qb") for i in range(2)]
    for idx in ("PSNR", "SAM", "ERGAS", "SCC", "Q2n"):
      want = [d[idx] for d in direct]
      np.testing.assert_allclose(rows[name]["per_image"][idx], want, rtol=1e-10, atol=1e-12)
      assert rows[name]["mean"][idx] == pytest.approx(np.mean(want), rel=1e-10)
      assert rows[name]["std"][idx] == pytest.approx(np.std(want, ddof=1), rel=1e-8, abs=1e-12)
    line = next(ln for ln in printed.splitlines() if ln.startswith(name))
    psnr = [d["PSNR"] for d in direct]
    assert f"{np.mean(psnr):.3f} ± {np.std(psnr, ddof=1):.3f}" in line
  assert "Q4" in printed and "Reduced resolution" in printed
  with open(cs, newline="") as f:
    table = {r["method"]: r for r in csv.DictReader(f)}
  assert float(table["SRINO"]["Q2n_mean"]) == rows["SRINO"]["mean"]["Q2n"]


def test_full_resolution_of_a_file_divided_by_the_max(tmp_path, capsys):
  scenes = _scenes(n=1, seed=2)
  del scenes["gt"]
  inp = _write(tmp_path / "fr.h5", scenes, scale=2047.0)
  js = tmp_path / "f.json"
  assert evaluate.main(["--input", str(inp), "--sensor", "qb", "--methods", "exp",
                        "--json", str(js)]) == 0
  printed = capsys.readouterr().out
  assert "multiplied by 2047" in printed and "Full resolution" in printed
  row = json.loads(js.read_text())["rows"][0]
  back = {k: v / 2047.0 * 2047.0 for k, v in scenes.items()}  # round trip through the file
  want = full_resolution(interp23tap(back["ms"][0]), back["ms"][0], back["pan"][0], "qb",
                         lms=back["lms"][0])
  for idx in ("D_lambda_K", "D_s", "HQNR"):
    assert row["per_image"][idx][0] == pytest.approx(want[idx], rel=1e-9, abs=1e-12)


def test_limit_and_library_rows(tmp_path):
  scenes = _scenes(n=3, seed=3)
  inp = _write(tmp_path / "rr.h5", scenes)
  data, notes = evaluate.load_scenes(inp, "qb", limit=2)
  assert data["gt"].shape == (2, 64, 64, 4) and data["pan"].shape == (2, 64, 64, 1)
  np.testing.assert_array_equal(data["ms"], scenes["ms"][:2])
  assert notes == []
  rows = evaluate.evaluate_methods(data, "qb", methods=[], fused={"GT": data["gt"]})
  assert rows[0]["mean"]["Q2n"] == pytest.approx(1.0, abs=1e-12)
  assert rows[0]["mean"]["ERGAS"] == 0.0
  table = format_table(rows + [make_row("X", {"kind": "full", "n": 1, "indices": ["HQNR"],
                                              "mean": {"HQNR": 0.9}, "std": {"HQNR": 0.0},
                                              "per_image": {"HQNR": [0.9]}})])
  assert "0.9000 ± 0.0000" in table and "1.0000 ± 0.0000" in table


def test_missing_key_and_wrong_bands_give_clear_errors(tmp_path, capsys):
  scenes = _scenes(n=1, seed=4)
  no_pan = _write(tmp_path / "nopan.h5", {k: v for k, v in scenes.items() if k != "pan"})
  with pytest.raises(ValueError, match="pan"):
    evaluate.load_scenes(no_pan, "qb")
  # Exit 3: a bad input file (srino_jax.errors; was 2 before the common error style).
  assert evaluate.main(["--input", str(no_pan), "--sensor", "qb", "--methods", "exp"]) == 3
  assert "missing key" in capsys.readouterr().err
  ok = _write(tmp_path / "ok.h5", scenes)
  assert evaluate.main(["--input", str(ok), "--sensor", "wv3", "--methods", "exp"]) == 3
  err = capsys.readouterr().err
  assert "4 bands" in err and "WV3" in err
  small = _write(tmp_path / "small.h5", {"sr": scenes["gt"][:, :32, :32]})
  with pytest.raises(ValueError, match="32 x 32"):
    evaluate.load_fused(small, "qb", evaluate.load_scenes(ok, "qb")[0])
  with pytest.raises(ValueError, match="unknown method"):
    evaluate.evaluate_methods(evaluate.load_scenes(ok, "qb")[0], "qb", methods=["nope"])


def _qb_set(n=1, size=32, top=2047.0, seed=0):
  rng = np.random.default_rng(seed)
  gt = rng.uniform(100, top, (n, size, size, 4))
  gt.flat[0] = top
  arrays = {"gt": gt, "ms": gt[:, 2::4, 2::4], "lms": gt + rng.normal(0, 9, gt.shape),
            "pan": gt.mean(-1, keepdims=True)}
  return {k: np.clip(np.round(v), 0, top) for k, v in arrays.items()}


@pytest.fixture
def inp(tmp_path):
  """A valid 1-scene QB reduced-resolution file in digital numbers."""
  return write_pancollection(tmp_path / "in.h5", _qb_set(), "qb", units="dn")


def _raw_h5(path, arrays):
  with h5py.File(path, "w") as f:
    for k, v in arrays.items():
      f[k] = np.transpose(v, (0, 3, 1, 2))
  return path


# ------------------------------------------------------------------ evaluate: bad input files

def _bad_input(kind, tmp_path, inp):
  if kind == "missing":
    return tmp_path / "absent.h5"
  if kind == "not-hdf5":
    (tmp_path / "text.h5").write_text("not an hdf5 file\n")
    return tmp_path / "text.h5"
  if kind == "truncated":
    data = inp.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[:len(data) // 2])
    return tmp_path / "cut.h5"
  arrays = _qb_set()
  if kind == "no-pan":
    del arrays["pan"]
  elif kind == "nan":
    arrays["ms"][0, 1, 1, 2] = np.nan
  elif kind == "mixed-scale":
    arrays["pan"] = arrays["pan"] / 2047.0
  elif kind == "wrong-grid":
    arrays["lms"] = arrays["lms"][:, :16]
  return _raw_h5(tmp_path / f"{kind}.h5", arrays)


@pytest.mark.parametrize("kind, code, needles", [
    ("missing", 3, ["not found", "absent.h5"]),
    ("not-hdf5", 3, ["text.h5", "not a readable HDF5 file"]),
    ("truncated", 3, ["cut.h5", "not a readable HDF5 file"]),
    ("no-pan", 3, ["no-pan.h5", "missing key", "'pan'"]),
    ("nan", 3, ["nan.h5", "key 'ms'", "NaN/Inf"]),
    ("mixed-scale", 3, ["mixed-scale.h5", "keys disagree", "pan max 0.889595", "ms max 2046"]),
    ("wrong-grid", 3, ["wrong-grid.h5", "key 'lms'", "not on the PAN grid"]),
])
def test_evaluate_bad_input_file(tmp_path, capsys, inp, kind, code, needles):
  bad = _bad_input(kind, tmp_path, inp)
  before = _listing(tmp_path)
  got, out, err = _run("evaluate", ["--input", bad, "--sensor", "qb", "--methods", "exp",
                                    "--csv", tmp_path / "t.csv"], capsys)
  assert got == code
  _one_error(err, *needles)
  assert _listing(tmp_path) == before  # no table written, nothing else either


def test_evaluate_wrong_sensor_names_bands(tmp_path, capsys, inp):
  code, _, err = _run("evaluate", ["--input", inp, "--sensor", "wv3", "--methods", "exp"],
                      capsys)
  assert code == 3
  _one_error(err, "in.h5", "4 bands", "WV3", "--sensor")


def test_evaluate_fused_of_another_size(tmp_path, capsys, inp):
  small = _raw_h5(tmp_path / "sr.h5", {"sr": _qb_set(size=16)["gt"]})
  code, _, err = _run("evaluate", ["--input", inp, "--sensor", "qb", "--methods", "",
                                   "--fused", small], capsys)
  assert code == 3
  _one_error(err, "sr.h5", "16 x 16", "32 x 32")


# ------------------------------------------------------------------ evaluate: bad arguments

@pytest.mark.parametrize("extra, needles", [
    (["--limit", "0"], ["--limit", "integer > 0"]),
    (["--dim-cut", "-1"], ["--dim-cut", "integer >= 0"]),
    (["--methods", "exp,nope"], ["unknown method", "nope"]),
    (["--sensor", "landsat"], ["--sensor", "landsat"]),
    (["--fused-name", "X"], ["more --fused-name than --fused"]),
    (["--csv", "same.txt", "--json", "same.txt"], ["same file"]),
    (["--bits", "0"], ["--bits", "a bit depth from 1 to 32", "got 0"]),
    (["--frobnicate"], ["unrecognized arguments", "--frobnicate"]),
])
def test_evaluate_bad_arguments(tmp_path, capsys, monkeypatch, inp, extra, needles):
  monkeypatch.chdir(tmp_path)
  base = ["--input", inp, "--sensor", "qb", "--methods", "exp"]
  if extra[0] == "--sensor":
    base = base[:2] + base[4:]
  before = _listing(tmp_path)
  code, out, err = _run("evaluate", base + extra, capsys)
  assert code == 2 and out == ""
  _one_error(err, *needles)
  assert _listing(tmp_path) == before


def test_evaluate_missing_required_argument(capsys):
  code, _, err = _run("evaluate", ["--sensor", "qb"], capsys)
  assert code == 2
  _one_error(err, "--input", "--help")


# ------------------------------------------------------------------ evaluate: outputs

@pytest.mark.parametrize("flag", ["--csv", "--json"])
def test_evaluate_refuses_an_existing_output(tmp_path, capsys, inp, flag):
  out_file = tmp_path / "old.txt"
  out_file.write_text("keep me")
  code, out, err = _run("evaluate", ["--input", inp, "--sensor", "qb", "--methods", "exp",
                                     flag, out_file], capsys)
  assert code == 5 and out == ""  # refused before reading or fusing anything
  _one_error(err, "old.txt exists", "--overwrite")
  assert out_file.read_text() == "keep me"
  code, _, _ = _run("evaluate", ["--input", inp, "--sensor", "qb", "--methods", "exp",
                                 flag, out_file, "--overwrite"], capsys)
  assert code == 0 and "EXP" in out_file.read_text()


def test_evaluate_output_under_a_regular_file(tmp_path, capsys, inp):
  (tmp_path / "plain").write_text("x")
  code, _, err = _run("evaluate", ["--input", inp, "--sensor", "qb", "--methods", "exp",
                                   "--csv", tmp_path / "plain" / "t.csv"], capsys)
  assert code == 5
  _one_error(err, "plain is a file, not a folder")
  assert _listing(tmp_path) == ["in.h5", "plain"]


def test_evaluate_unwritable_folder(tmp_path, capsys, monkeypatch, inp):
  """chmod does not stop root (CI), so the folder's refusal is mocked at the probe."""
  def refuse(*args, **kwargs):
    raise PermissionError(errno.EACCES, "Permission denied")
  monkeypatch.setattr(cli.tempfile, "TemporaryFile", refuse)
  code, out, err = _run("evaluate", ["--input", inp, "--sensor", "qb", "--methods", "exp",
                                     "--json", tmp_path / "ro" / "s.json"], capsys)
  assert code == 5 and out == ""
  _one_error(err, "cannot write in", "Permission denied", "permissions")
  assert _listing(tmp_path) == ["in.h5"]


def test_evaluate_full_disk_keeps_the_old_file(tmp_path, capsys, monkeypatch, inp):
  """ENOSPC while the table is written: one message, no temp file, old table intact."""
  import srino_jax.atomic as atomic

  table = tmp_path / "t.csv"
  table.write_text("old table")

  def full(src, dst):
    raise OSError(errno.ENOSPC, "No space left on device", str(dst))
  monkeypatch.setattr(atomic.os, "replace", full)
  code, _, err = _run("evaluate", ["--input", inp, "--sensor", "qb", "--methods", "exp",
                                   "--csv", table, "--overwrite"], capsys)
  assert code == 5
  _one_error(err, "no space left on the device", "t.csv", "Free some space")
  assert _listing(tmp_path) == ["in.h5", "t.csv"] and table.read_text() == "old table"


def test_evaluate_eight_bit_data_warns_once(tmp_path, capsys):
  dark = write_pancollection(tmp_path / "b8.h5", _qb_set(top=255.0), "qb", units="dn")
  code, _, err = _run("evaluate", ["--input", dark, "--sensor", "qb", "--methods", "exp"],
                      capsys)
  assert code == 0
  lines = err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("warning: ") and "Traceback" not in err
  assert "255" in lines[0] and "2047" in lines[0] and "--bits 8" in lines[0]
  code, _, err = _run("evaluate", ["--input", dark, "--sensor", "qb", "--methods", "exp",
                                   "--bits", "8"], capsys)
  assert code == 0 and err == ""


def test_a_bit_depth_out_of_range_is_a_usage_error(capsys):
  """Issue 18: --bits 99 printed a 561 dB PSNR; now refused (exit 2) like sample.py's."""
  from srino_jax import evaluate
  assert evaluate.main(["--input", "x.h5", "--sensor", "qb", "--bits", "99"]) == 2
  assert "--bits" in capsys.readouterr().err


def test_scenes_too_small_for_the_indices_are_one_message(tmp_path, capsys):
  """Issue 18: scenes smaller than the indices need ended in a traceback (exit 1)."""
  small = _raw_h5(tmp_path / "tiny.h5", _qb_set(size=32))
  code, _, err = _run("evaluate", ["--input", small, "--sensor", "qb", "--methods", "exp",
                                   "--dim-cut", "16"], capsys)
  assert code == 3
  _one_error(err, "tiny.h5", "too small for the indices", "--dim-cut")
