"""Reliability of `python -m srino_jax.evaluate` (issue 11): bad files, bad arguments,
existing or unwritable outputs, a full disk, dark data; the common error style of cli.run.

Every case asserts the exit code (srino_jax.errors), that stderr is ONE line `error: ...`
naming the problem (no traceback), and which files exist afterwards, calling `main(argv)`
in process. Dataset tools and signals: test_reliability_datasets.py.
"""

from __future__ import annotations

import errno

import h5py
import numpy as np
import pytest

from srino_jax import cli
from srino_jax.data.pancollection import write_pancollection
from _reliability import listing as _listing, one_error as _one_error, run as _run


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
    (["--bits", "0"], ["--bits", "integer > 0"]),
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


def test_debug_shows_the_traceback(tmp_path, capsys):
  code, _, err = _run("evaluate", ["--input", tmp_path / "absent.h5", "--sensor", "qb",
                                   "--debug"], capsys)
  assert code == 3
  assert "Traceback" in err and err.strip().splitlines()[-1].startswith("error: ")


def test_a_bug_prints_its_traceback(capsys):
  parser = cli.make_parser("prog", "test")
  code = cli.run(lambda args: [][1], parser, [])
  assert code == 1 and "IndexError" in capsys.readouterr().err
