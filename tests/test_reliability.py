"""Reliability of the data/evaluation command lines (issue 11): bad files, bad arguments,
existing or unwritable outputs, a full disk, signals while writing.

Every case asserts the exit code (srino_jax.errors), that stderr is ONE line `error: ...`
naming the problem (no traceback), and which files exist afterwards. Cases run `main(argv)`
in process; only the signal cases start a subprocess.
"""

from __future__ import annotations

import errno
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest
import scipy.io

from srino_jax import cli
from srino_jax.data import make_dataset
from srino_jax.data.pancollection import write_pancollection
from srino_jax import evaluate
from srino_jax.synthetic import generate as synthetic

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAINS = {"evaluate": evaluate.main, "synthetic": synthetic.main,
         "make_dataset": make_dataset.main}


def _listing(folder: pathlib.Path) -> list[str]:
  """Every file under `folder` (relative paths, hidden temp files included)."""
  return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _run(tool, argv, capsys):
  capsys.readouterr()
  code = MAINS[tool]([str(a) for a in argv])
  out, err = capsys.readouterr()
  return code, out, err


def _one_error(err: str, *needles: str) -> str:
  lines = err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), err
  assert "Traceback" not in err
  for needle in needles:
    assert needle in lines[0], (needle, lines[0])
  return lines[0]


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


# ------------------------------------------------------------------ synthetic

SYN = ["--sensor", "qb", "--train", "2", "--valid", "0", "--test", "1", "--size", "32",
       "--patch", "16", "--no-progress"]


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


# ------------------------------------------------------------------ make_dataset

def _scene_mat(path, size=64, pan=True, ratio=4):
  rng = np.random.default_rng(5)
  data = {"I_MS": rng.uniform(100, 2000, (size // ratio, size // ratio, 4)).astype(np.uint16)}
  if pan:
    data["I_PAN"] = rng.uniform(100, 2000, (size, size)).astype(np.uint16)
  scipy.io.savemat(path, data)
  return path


@pytest.mark.parametrize("case, code, needles", [
    ("no-source", 2, ["--mat", "--ms and --pan"]),
    ("missing-mat", 3, ["absent.mat"]),
    ("no-pan", 3, ["nopan.mat", "I_PAN"]),
    ("garbage-mat", 3, ["cannot read", "garbage.mat"]),
    ("fraction", 2, ["--valid-fraction", "[0, 1)"]),
    ("patch", 2, ["--patch 30", "multiple", "ratio 4"]),
    ("too-small", 3, ["smaller than the patch", "--patch"]),
])
def test_make_dataset_failures(tmp_path, capsys, case, code, needles):
  mat = _scene_mat(tmp_path / "scene.mat")
  argv = {"no-source": ["--sensor", "qb"],
          "missing-mat": ["--mat", tmp_path / "absent.mat", "--sensor", "qb"],
          "no-pan": ["--mat", _scene_mat(tmp_path / "nopan.mat", pan=False), "--sensor", "qb"],
          "garbage-mat": ["--sensor", "qb", "--mat", tmp_path / "garbage.mat"],
          "fraction": ["--mat", mat, "--sensor", "qb", "--valid-fraction", "1.5"],
          "patch": ["--mat", mat, "--sensor", "qb", "--patch", "30"],
          "too-small": ["--mat", mat, "--sensor", "qb", "--patch", "128",
                        "--valid-fraction", "0"]}[case]
  (tmp_path / "garbage.mat").write_bytes(b"MATLAB 5.0 MAT-file, garbage" + bytes(50))
  before = _listing(tmp_path)
  got, out, err = _run("make_dataset", argv + ["--out", tmp_path / "out", "--no-progress"],
                       capsys)
  assert got == code
  _one_error(err, *needles)
  assert _listing(tmp_path) == before


def test_make_dataset_existing_output_is_refused_before_any_work(tmp_path, capsys):
  mat = _scene_mat(tmp_path / "scene.mat")
  out = tmp_path / "out"
  out.mkdir()
  (out / "full_qb.h5").write_bytes(b"old")
  code, _, err = _run("make_dataset", ["--mat", mat, "--sensor", "qb", "--out", out,
                                       "--patch", "16", "--no-progress"], capsys)
  assert code == 5
  _one_error(err, "full_qb.h5 exists", "--overwrite")
  assert _listing(out) == ["full_qb.h5"]  # train/valid were not written first


# ------------------------------------------------------------------ signals while writing

_CHILD = textwrap.dedent("""
    import os, signal, sys, time
    import numpy as np
    from srino_jax import cli
    from srino_jax.atomic import atomic_output

    def work(args):
      with atomic_output(sys.argv[1]) as tmp, open(tmp, "w") as f:
        f.write("partial")
        f.flush()
        print("writing", flush=True)
        time.sleep(20)  # the signal arrives here
        f.write(" done")
      return 0

    if sys.argv[2] == "cli":
      sys.exit(cli.run(work, cli.make_parser("child", "signal test"), []))
    work(None)
    """)


@pytest.mark.parametrize("sig, via_cli, want", [
    (signal.SIGTERM, True, 143), (signal.SIGINT, True, 130), (signal.SIGTERM, False, None)])
def test_signal_during_a_write_leaves_no_temp(tmp_path, sig, via_cli, want):
  target = tmp_path / "out.txt"
  target.write_text("old output")
  env = dict(os.environ, PYTHONPATH=str(ROOT))
  proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(target),
                           "cli" if via_cli else "lib"], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
  assert proc.stdout.readline().strip() == "writing"
  assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())  # mid-write
  start = time.monotonic()
  proc.send_signal(sig)
  _, err = proc.communicate(timeout=15)
  assert time.monotonic() - start < 5  # promptly, not after the 20 s sleep
  if want is not None:
    assert proc.returncode == want
    _one_error(err, f"interrupted by {signal.Signals(sig).name}", "temporary files")
  else:
    assert proc.returncode != 0  # library use: the exception ends the program
  assert _listing(tmp_path) == ["out.txt"] and target.read_text() == "old output"


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
