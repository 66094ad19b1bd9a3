"""Reliability of `python -m srino_jax.synthetic` / `srino_jax.data.make_dataset` and of
writes under SIGTERM / SIGINT (issue 11): exit code, one-line message, files left.

Signal cases start a subprocess; the others call `main(argv)` in process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import scipy.io

from _reliability import (ROOT, SYN, listing as _listing, one_error as _one_error,
                          run as _run)


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


@pytest.mark.parametrize("ms_px, ms_east, needles", [
    (2.0, 5000.0, ["do not overlap"]),  # the MS of another place, 5 km east
    (1.5, 0.0, ["PAN/MS size ratio 3", "QB's ratio 4"]),  # 1.5 m MS pixels, 0.5 m PAN
])
def test_make_dataset_refuses_geotiff_pairs_the_scene_tool_refuses(tmp_path, capsys, ms_px,
                                                                   ms_east, needles):
  pytest.importorskip("rasterio")
  from rasterio.transform import Affine
  from srino_jax.data.geotiff import write_geotiff
  from srino_jax.scene import __main__ as scene_tool
  rng = np.random.default_rng(6)
  # The sizes alone (64 = 4 x 16) look like a ratio-4 pair; the geotransforms say otherwise.
  pan = write_geotiff(tmp_path / "pan.tif", rng.integers(100, 2000, (64, 64, 1)),
                      {"crs": "EPSG:32633", "transform": Affine(0.5, 0, 5e5, 0, -0.5, 4e6)},
                      dtype="uint16")
  ms = write_geotiff(tmp_path / "ms.tif", rng.integers(100, 2000, (16, 16, 4)),
                     {"crs": "EPSG:32633",
                      "transform": Affine(ms_px, 0, 5e5 + ms_east, 0, -ms_px, 4e6)},
                     dtype="uint16")
  before = _listing(tmp_path)
  code, out, err = _run("make_dataset", ["--ms", ms, "--pan", pan, "--sensor", "qb", "--out",
                                         tmp_path / "out", "--no-progress"], capsys)
  assert code == 3 and out == ""
  line = _one_error(err, *needles)
  assert str(pan) in line
  assert _listing(tmp_path) == before
  capsys.readouterr()
  code = scene_tool.main(["--pan", str(pan), "--ms", str(ms), "--method", "gsa", "--sensor",
                          "qb", "--output", str(tmp_path / "fused.tif"), "--no-progress"])
  assert code == 3 and not (tmp_path / "fused.tif").exists()


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
