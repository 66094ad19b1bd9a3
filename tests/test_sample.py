"""Reliability of `python sample.py` (issue 11): every expected failure is one line with its
exit code, found before the checkpoint is loaded or anything compiled; a damaged checkpoint
is refused or falls back; signals during compilation, sampling and writing leave no
temp file and an existing output intact.

The run is made by hand (config.json of the tiny QB run and an untrained stage-2 checkpoint
at steps 1 and 2): sampling needs parameters, not good ones.
"""

from __future__ import annotations

import glob
import os

import h5py
import jax
import numpy as np
import pytest

from _reliability import one_error
from _reliability_runs import last_line, listing, run_with_signal, script_main
from conftest import with_overrides, as_run
from srino_jax import checkpoints, inference
from srino_jax.data.pancollection import write_pancollection
from srino_jax.model import GUIDANCE_MODES
from srino_jax.training import run as runs
from srino_jax.training.stages import get_stage


@pytest.fixture(scope="module")
def cache():
  return jax.config.jax_compilation_cache_dir  # shared with this process (conftest)


@pytest.fixture(scope="module")
def run_dir(tiny_run, tmp_path_factory):
  """A hand-made run without EMA: stage-2 checkpoints of random parameters at steps 1, 2."""
  folder = str(tmp_path_factory.mktemp("sample-run"))
  as_run(with_overrides(tiny_run, "train.ema_decay=0.0"), folder).save()
  init = get_stage("stage2").init
  ckpts = checkpoints.StageCheckpoints(as_run(tiny_run, folder).stage_dir("stage2"))
  for step in (1, 2):
    params = init(runs.model_config(tiny_run), jax.random.PRNGKey(step),
                  tiny_run.data.patch_size)
    ckpts.save(step, {"params": params}, {"stage": "stage2", "step": step, "seed": 0},
               score=float(step))
  ckpts.close()
  return folder


@pytest.fixture(scope="module")
def small_input(tiny_run, tmp_path_factory):
  """One 8 x 8 PAN scene cut from the tiny run's test file (too small for 32 x 32 blocks)."""
  path = tmp_path_factory.mktemp("small") / "small.h5"
  with h5py.File(as_run(tiny_run).data_path("test")) as f:
    scene = {k: f[k][:1].transpose(0, 2, 3, 1) for k in ("gt", "lms", "ms", "pan")}
  cut = {k: v[:, :2, :2] if k == "ms" else v[:, :8, :8] for k, v in scene.items()}
  write_pancollection(str(path), cut, "qb", units="dn")
  return str(path)


def _sample(argv, capsys):
  capsys.readouterr()
  code = script_main("sample")([str(a) for a in argv])
  out, err = capsys.readouterr()
  return code, out, err


@pytest.fixture
def no_work(monkeypatch):
  """Fails the test if sample.py loads the checkpoint or samples."""
  def boom(*a, **k):
    raise AssertionError("expensive work started before the failure was found")
  monkeypatch.setattr(inference, "load_params", boom)
  monkeypatch.setattr(inference, "make_fuser", boom)
  monkeypatch.setattr(inference, "fuse_scenes", boom)


@pytest.mark.parametrize("extra, needles", [
    (["--num-samples", "0"], ["--num-samples", "integer > 0", "got 0"]),
    (["--num-samples", "-1"], ["--num-samples", "got -1"]),
    (["--batch-size", "0"], ["--batch-size", "integer > 0"]),
    (["--limit", "0"], ["--limit", "integer > 0"]),
    (["--steps", "0"], ["--steps", "integer > 0"]),
    (["--eta", "-1"], ["--eta", "number >= 0"]),
    (["--methods", "exp,foo"], ["--methods: unknown foo", "mtf-glp"]),
    (["--sensor", "wv3"], ["model fuses 4 bands, sensor WV3 has 8"]),
    (["--sensor", "landsat"], ["unknown sensor 'landsat'", "QB, WV2, WV3"]),
    (["--guidance", "none"], ["trained with guidance 'both', not 'none'"]),
    (["--stage", "nope"], ["unknown stage 'nope'"]),
    (["--weights", "mean"], ["--weights", "invalid choice"]),
    (["--checkpoint", "x"], ["not allowed with argument --workdir"]),
])
def test_bad_arguments(run_dir, tiny_run, tmp_path, capsys, no_work, extra, needles):
  out = tmp_path / "sr.h5"
  code, _, err = _sample(["--workdir", run_dir, "--input", as_run(tiny_run).data_path("test"),
                          "--output", out, *extra], capsys)
  assert code == 2
  one_error(err, *needles)
  assert listing(tmp_path) == []



def test_guidance_choices_are_the_model_registry(capsys):
  """--guidance offers exactly the modes of srino_jax.model.GUIDANCE_MODES (one list)."""
  parser = script_main("sample").__globals__["build_parser"]()  # the script's own parser
  action = next(a for a in parser._actions if "--guidance" in a.option_strings)
  assert list(action.choices) == list(GUIDANCE_MODES)
  code, _, err = _sample(["--workdir", "w", "--input", "i.h5", "--output", "o.h5",
                          "--guidance", "sideways"], capsys)
  assert code == 2
  one_error(err, "--guidance", "invalid choice: 'sideways'", *GUIDANCE_MODES)

@pytest.mark.parametrize("case, code, needles", [
    ("missing-input", 3, ["absent.h5", "does not exist"]),
    ("garbage-input", 3, ["garbage.h5", "not a readable HDF5"]),
    ("small-pan", 3, ["8 x 8 PAN is too small for the quality table", "--no-table"]),
    ("no-run", 4, ["norun", "does not exist"]),
    ("not-a-run", 4, ["no config.json", "not a srino-jax run"]),
    ("output-exists", 5, ["sr.h5 exists", "--overwrite"]),
    ("output-in-a-file", 5, ["plain is a file, not a folder"]),
    ("output-unwritable", 5, ["cannot write in /proc"]),
    ("png-exists", 5, ["scene_000.png exists", "--overwrite"]),
])
def test_failures_are_found_before_the_checkpoint_is_loaded(run_dir, tiny_run, small_input,
                                                           tmp_path, capsys, no_work, case,
                                                           code, needles):
  test = as_run(tiny_run).data_path("test")
  (tmp_path / "garbage.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(40))
  (tmp_path / "plain").write_text("x")
  (tmp_path / "sr.h5").write_bytes(b"old")
  (tmp_path / "png").mkdir()
  (tmp_path / "png" / "scene_000.png").write_bytes(b"old png")
  out, source = tmp_path / "new.h5", ["--workdir", run_dir]
  argv = {"missing-input": ["--input", tmp_path / "absent.h5"],
          "garbage-input": ["--input", tmp_path / "garbage.h5"],
          "small-pan": ["--input", small_input],
          "no-run": ["--input", test, "--workdir", tmp_path / "norun"],
          "not-a-run": ["--input", test, "--workdir", tmp_path / "png"],
          "output-exists": ["--input", test, "--output", tmp_path / "sr.h5"],
          "output-in-a-file": ["--input", test, "--output", tmp_path / "plain" / "sr.h5"],
          "output-unwritable": ["--input", test, "--output", "/proc/sr.h5"],
          "png-exists": ["--input", test, "--png", tmp_path / "png"]}[case]
  before = listing(tmp_path)
  got, _, err = _sample(source + ["--output", out] + argv, capsys)
  assert got == code
  one_error(err, *needles)
  assert listing(tmp_path) == before and (tmp_path / "sr.h5").read_bytes() == b"old"


def _damage(step_dir):
  for f in glob.glob(os.path.join(step_dir, "state", "ocdbt.process_0", "d", "*")):
    os.remove(f)


def test_damaged_checkpoints(run_dir, tiny_run, small_input, tmp_path, tmp_path_factory,
                             capsys):
  """best/ damaged: one CheckpointError naming --which last; last/ damaged at its newest
  step: one warning, the previous step fuses (an 8 x 8 scene, written without the table)."""
  import shutil
  run = str(tmp_path_factory.mktemp("damaged-run") / "run")
  shutil.copytree(run_dir, run)
  stage = as_run(tiny_run, run).stage_dir("stage2")
  _damage(os.path.join(stage, "best", "2"))
  _damage(os.path.join(stage, "last", "2"))
  out = tmp_path / "sr.h5"
  code, _, err = _sample(["--workdir", run, "--input", small_input, "--output", out,
                          "--no-table"], capsys)
  assert code == 4 and not out.exists()
  one_error(err, "cannot read the checkpoint in", "best", "step 2", "--which last")
  code, stdout, err = _sample(["--workdir", run, "--input", small_input, "--output", out,
                               "--no-table", "--which", "last"], capsys)
  assert code == 0, err
  warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
  assert len(warnings) == 1 and "step 2" in warnings[0] and "using step 1" in warnings[0]
  assert "Traceback" not in err and "Q4" not in stdout  # no table, as asked
  assert out.exists() and h5py.File(out)["sr"].shape == (1, 4, 8, 8)
  with pytest.warns(RuntimeWarning, match="using step 1"):
    fallback = inference.Run.load(run, which="last").params()
  step1 = as_run(tiny_run, run).params("stage2", step=1, which="last", weights="online")
  step2 = get_stage("stage2").init(runs.model_config(tiny_run), jax.random.PRNGKey(2),
                                   tiny_run.data.patch_size)
  same = lambda a, b: all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a),  # noqa: E731
                                                                 jax.tree.leaves(b)))
  assert same(fallback, step1) and not same(fallback, step2)


@pytest.mark.parametrize("hook, sig, delay, code", [
    ("compile", "SIGINT", 0.01, 130),   # Ctrl-C inside an XLA compilation
    ("sampler", "SIGTERM", 0.05, 143),  # SIGTERM while the sampler runs
    ("write", "SIGTERM", 0.0, 143),     # while the output h5 is written (--overwrite)
    ("write", "SIGINT", 0.0, 130),
])
def test_signals_leave_no_temp_and_the_old_output(run_dir, tiny_run, tmp_path, cache, hook, sig,
                                                   delay, code):
  out = tmp_path / "sr.h5"
  out.write_bytes(b"old output")
  proc = run_with_signal("sample", ["--workdir", run_dir, "--input",
                                    as_run(tiny_run).data_path("test"), "--output", out,
                                    "--overwrite", "--methods", ""], hook, sig, 1, cache,
                         delay=delay)
  assert proc.returncode == code, proc.stderr  # neither swallowed nor a crash
  one_error(last_line(proc.stderr) + "\n", f"interrupted by {sig}", "temporary files")
  assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
  assert listing(tmp_path) == ["sr.h5"] and out.read_bytes() == b"old output"


def test_ema_weights_of_a_run_without_them_are_one_error(run_dir, small_input, tmp_path,
                                                         capsys):
  """The run kept no EMA: the default is its online weights, and asking for the EMA is one
  message naming --weights online (exit 4), nothing written."""
  out = tmp_path / "sr.h5"
  code, _, err = _sample(["--workdir", run_dir, "--input", small_input, "--output", out,
                          "--no-table", "--weights", "ema"], capsys)
  assert code == 4 and not out.exists()
  one_error(err, "holds no 'ema' weights", "--weights online")
  code, _, err = _sample(["--workdir", run_dir, "--input", small_input, "--output", out,
                          "--no-table"], capsys)
  assert code == 0, err


def test_the_output_may_not_be_the_input(run_dir, small_input, capsys, no_work):
  """--output equal to --input (even through another spelling of the path) is refused
  before any work, with --overwrite too: writing it would destroy the input."""
  before = open(small_input, "rb").read()
  same = os.path.join(os.path.dirname(small_input), ".", os.path.basename(small_input))
  code, _, err = _sample(["--workdir", run_dir, "--input", small_input, "--output", same,
                          "--overwrite", "--no-table"], capsys)
  assert code == 2
  one_error(err, "is the input --input", "Choose another output path")
  assert open(small_input, "rb").read() == before


def test_a_stage_that_does_not_fuse_is_one_message(trained, tiny_run, tmp_path, capsys):
  """Issue 18: a stage-1 checkpoint given to sample.py ended in a traceback."""
  out = tmp_path / "sr.h5"
  code, _, err = _sample(["--checkpoint", os.path.join(trained, "checkpoints", "stage1"),
                          "--input", as_run(tiny_run).data_path("test"), "--output", out],
                         capsys)
  assert code == 4 and not out.exists()
  one_error(err, "stage stage1 does not fuse scenes", "stage2")
