"""Reliability of `python train.py` (issue 11): a bad start is one message and creates no
workdir; signals at the dangerous moments stop the run with a usable checkpoint; a damaged
latest checkpoint falls back to an intact one; a full disk is one message; after resumes,
every step is logged once; train.py keeps its flags and lists every config field.

Failures at start run `main(argv)` in process; signals run a child process (tests/
_reliability_runs.py) on the tiny QB run's synthetic data (aux stage, 6 steps).
"""

from __future__ import annotations

import glob
import json
import os
import importlib.util

import jax
import orbax.checkpoint as ocp
import pytest

from srino_jax.training.logging import read_event_scalars
from srino_jax.errors import UsageError
from srino_jax.training import configfile

from _reliability import one_error
from _reliability_runs import (last_line, listing, run_with_signal, script_main, train_argv)
from conftest import REPO


@pytest.fixture(scope="module")
def cache():
  return jax.config.jax_compilation_cache_dir  # shared with this process (conftest)


@pytest.fixture(scope="module")
def root(tiny_run):
  return tiny_run.data.root


def _train(argv, capsys):
  capsys.readouterr()
  code = script_main("train")([str(a) for a in argv])
  out, err = capsys.readouterr()
  return code, out, err


def _steps(workdir, which="last"):
  folder = os.path.join(workdir, "checkpoints", "aux", which)
  return sorted(int(s) for s in os.listdir(folder) if s.isdigit())


def _no_orbax_temp(workdir):
  assert not [p for p in listing(workdir) if "tmp" in os.path.basename(p)], listing(workdir)


@pytest.mark.parametrize("extra, code, needles", [
    (["--config.train.batch_size=0"], 2, ["--config.train.batch_size must be >= 1, got 0"]),
    (["--config.train.aux_steps=-1"], 2, ["--config.train.aux_steps must be >= 0"]),
    (["--config.train.checkpoint_every=0"], 2, ["checkpoint_every", ">= 1"]),
    (["--config.sensor=wv3"], 3, ["train_qb.h5", "4 bands", "WV3 has 8"]),
    (["--config.data.root=NODATA", "--config.data.synthetic=false"], 3,
     ["data file(s) not found", "nodata/train_qb.h5", "--config.data.root"]),
    (["--config.train.widht=3"], 2, ["unknown config fields ['train.widht']"]),
    (["--config.train.batch_size=four"], 2, ["train.batch_size", "'four'"]),
    (["--stage", "stage3"], 2, ["--stage", "invalid choice: 'stage3'"]),
    (["--stage", "stage2"], 4, ["stage stage2 starts from the trained aux stage",
                                "--stage aux"]),
    (["--config", "NOWHERE"], 3, ["config file", "nowhere.py does not exist"]),
    (["stray"], 2, ["unrecognized argument 'stray'"]),
    (["--config.model.width"], 2, ["--config.model.width needs a value"]),
    # Issue 18: found before any stage trains, not at the first validation / as a NaN.
    (["--config.diffusion.sample_steps=0"], 2, ["--config.diffusion.sample_steps", ">= 1"]),
    (["--config.optim.learning_rate=nan"], 2, ["--config.optim.learning_rate must be a "
                                               "finite number > 0, got nan"]),
    (["--config.train.ema_decay=1.5"], 2, ["ema_decay must be in (0, 1)"]),
    (["--config.data.holdout_test=1.0"], 2, ["HoldOut.test must be in [0, 1)"]),
    (["--config.data.patch_size=30"], 2, ["--config.data.patch_size must be a multiple of "
                                          "the ratio 4, got 30"]),
    (["--config.train.baselines=pnn,foo", "--stage", "all"], 2,
     ["--config.train.baselines", "unknown stage 'foo'"]),
])
def test_a_bad_start_is_one_message_and_creates_no_workdir(root, tmp_path, capsys, extra,
                                                           code, needles):
  extra = [e.replace("NODATA", str(tmp_path / "nodata")).replace(
      "NOWHERE", str(tmp_path / "nowhere.py")) for e in extra]
  workdir = tmp_path / "run"
  got, out, err = _train(train_argv(root, workdir, *extra), capsys)
  assert got == code, err
  one_error(err, *needles)
  assert not workdir.exists()  # no config.json, no empty logs/ or checkpoints/


def test_no_workdir_and_print_config(root, tmp_path, capsys):
  argv = train_argv(root, tmp_path / "run")
  argv = argv[:argv.index("--workdir")]
  got, _, err = _train(argv, capsys)
  assert got == 2
  one_error(err, "--workdir is required")
  got, out, err = _train(argv + ["--print_config"], capsys)
  assert got == 0 and "batch_size: 4" in out and err == ""


def test_a_workdir_of_another_model_or_a_file_is_left_untouched(root, tmp_path, capsys):
  workdir = tmp_path / "run"
  workdir.mkdir()
  old = {"sensor": "qb", "model": {"width": 16}, "diffusion": {}}
  (workdir / "config.json").write_text(json.dumps(old))
  before = listing(workdir)
  got, _, err = _train(train_argv(root, workdir), capsys)
  assert got == 4
  one_error(err, "holds a run trained with another 'model' config", "--workdir")
  assert listing(workdir) == before
  assert json.loads((workdir / "config.json").read_text()) == old
  plain = tmp_path / "plain"
  plain.write_text("x")
  got, _, err = _train(train_argv(root, plain), capsys)
  assert got == 5
  one_error(err, "is a file, not a folder")
  assert plain.read_text() == "x"


def test_sigterm_during_training_saves_the_current_step(root, tmp_path, cache):
  """SIGTERM while step 3 runs (a step that does not checkpoint): it finishes, then one
  final checkpoint of step 3 is saved and waited for, exit 143."""
  workdir = tmp_path / "run"
  proc = run_with_signal("train", train_argv(root, workdir), "batch", "SIGTERM", 3, cache)
  assert proc.returncode == 143, proc.stderr
  one_error(last_line(proc.stderr) + "\n", "interrupted by SIGTERM", "temporary files")
  assert "Traceback" not in proc.stderr
  assert _steps(workdir) == [2, 3]
  _no_orbax_temp(workdir)


@pytest.mark.parametrize("hook, sig, nth, code, resume", [
    ("compile", "SIGINT", 1, 130, False),  # Ctrl-C inside the first XLA compilation
    ("save", "SIGTERM", 1, 143, True),     # SIGTERM while the step-2 checkpoint is written
])
def test_signal_during_compilation_or_a_save_then_resume(root, tmp_path, capsys, cache, hook,
                                                         sig, nth, code, resume):
  workdir = tmp_path / "run"
  proc = run_with_signal("train", train_argv(root, workdir), hook, sig, nth, cache, delay=0.01)
  assert proc.returncode == code, proc.stderr  # not swallowed, no segfault
  one_error(last_line(proc.stderr) + "\n", f"interrupted by {sig}")
  assert "Traceback" not in proc.stderr
  _no_orbax_temp(workdir)
  kept = _steps(workdir)
  assert max(kept, default=0) <= 2  # stopped at the first step boundary after the signal
  if not resume:
    return
  got, out, err = _train(train_argv(root, workdir), capsys)  # the checkpoint is intact
  assert got == 0 and "warning" not in err, err
  assert _steps(workdir)[-1] == 6


def test_resumes_log_every_step_once(root, tmp_path, capsys, cache):
  """kill -9 after step 5 was logged (checkpoint at 4), resume to 6, resume again to 8."""
  workdir = tmp_path / "run"
  proc = run_with_signal("train", train_argv(root, workdir), "batch", "SIGKILL", 6, cache)
  assert proc.returncode == -9
  logdir = workdir / "logs" / "aux"
  logged = [r["step"] for r in map(json.loads, open(logdir / "metrics.jsonl"))]
  assert max(logged) == 5 > max(_steps(workdir))  # steps logged after the last checkpoint
  assert _train(train_argv(root, workdir), capsys)[0] == 0
  assert _train(train_argv(root, workdir, "--config.train.aux_steps=8"), capsys)[0] == 0
  records = [json.loads(line) for line in open(logdir / "metrics.jsonl")]
  train_steps = [r["step"] for r in records if "train/loss" in r]
  assert train_steps == list(range(1, 9))
  assert [r["step"] for r in records if "valid/loss" in r] == [6, 8]
  events = read_event_scalars(str(logdir))
  assert sorted(s for s, _ in events["train/loss"]) == list(range(1, 9))


def _damage(step_dir, how):
  files = glob.glob(os.path.join(step_dir, "state", "ocdbt.process_0", "d", "*"))
  assert files
  for f in files:
    if how == "missing":
      os.remove(f)
    else:
      with open(f, "r+b") as fh:
        fh.truncate(8)


@pytest.mark.parametrize("how", ["missing", "truncated"])
def test_a_damaged_latest_checkpoint_falls_back_to_an_intact_one(root, tmp_path, capsys, how):
  workdir = tmp_path / "run"
  assert _train(train_argv(root, workdir, "--config.train.aux_steps=4"), capsys)[0] == 0
  last = workdir / "checkpoints" / "aux" / "last"
  _damage(last / "4", how)
  damaged_files = listing(last / "4")
  got, _, err = _train(train_argv(root, workdir), capsys)
  assert got == 0, err
  warnings = [ln for ln in err.splitlines() if ln.startswith("warning:")]
  assert len(warnings) == 1 and "Traceback" not in err
  assert "checkpoint step 4" in warnings[0] and "resuming from step 2" in warnings[0]
  moved = workdir / "checkpoints" / "aux" / "damaged" / "last-4"
  assert str(moved) in warnings[0] and listing(moved) == damaged_files  # nothing deleted
  assert _steps(workdir) == [2, 4, 6]  # retrained from 2


def test_no_intact_checkpoint_is_one_message_and_moves_nothing(root, tmp_path, capsys):
  workdir = tmp_path / "run"
  assert _train(train_argv(root, workdir, "--config.train.aux_steps=4"), capsys)[0] == 0
  last = workdir / "checkpoints" / "aux" / "last"
  for step in ("2", "4"):
    _damage(last / step, "missing")
  before = listing(workdir / "checkpoints")
  got, _, err = _train(train_argv(root, workdir), capsys)
  assert got == 4
  one_error(err, "no intact checkpoint in", "step 4", "step 2", "aside")
  assert listing(workdir / "checkpoints") == before


def test_a_full_disk_during_a_save_is_one_message(root, tmp_path, capsys, monkeypatch):
  """The second save fails as Orbax reports ENOSPC from TensorStore (measured on a full
  tmpfs): training stops with one line, the step-2 checkpoint intact."""
  real = ocp.CheckpointManager.save
  calls = []

  def save(self, step, *a, **k):
    calls.append(step)
    if step == 4:
      raise ValueError('RESOURCE_EXHAUSTED: Failed writing: "x/4.orbax-checkpoint-tmp/d/a": '
                       "Failed to write 18227 bytes to file 12: No space left on device "
                       "[os_error_code='28']")
    return real(self, step, *a, **k)

  monkeypatch.setattr(ocp.CheckpointManager, "save", save)
  workdir = tmp_path / "run"
  got, _, err = _train(train_argv(root, workdir), capsys)
  assert got == 5
  one_error(err, "no space left on the device", "step 4", "last good checkpoint (step 2) is "
            "intact", "Free some space")
  assert calls == [2, 4] and _steps(workdir) == [2]
  monkeypatch.setattr(ocp.CheckpointManager, "save", real)
  assert _train(train_argv(root, workdir), capsys)[0] == 0
  assert _steps(workdir) == [2, 4, 6]


DEMO = str(REPO / "configs" / "demo.py")


def _train_module():
  spec = importlib.util.spec_from_file_location("train_cli", REPO / "train.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_train_cli_keeps_its_flags_and_lists_every_field(capsys):
  train = _train_module()
  args, overrides = train.parse_args(["--config", DEMO, "--workdir", "w", "--stage", "stage1",
                                      "--config.model.width=16", "--config.train.batch_size",
                                      "4", "--print_config", "--multihost", "--quiet"])
  assert (args.config, args.workdir, args.stage) == (DEMO, "w", "stage1")
  assert args.print_config and args.multihost and args.quiet
  assert overrides == ["model.width=16", "train.batch_size=4"]
  with pytest.raises(UsageError, match="stage3"):  # one line, exit 2 through cli.run
    train.parse_args(["--config", DEMO, "--stage", "stage3"])
  with pytest.raises(UsageError, match="stray"):
    train.parse_args(["--config", DEMO, "stray"])
  with pytest.raises(SystemExit):
    train.parse_args(["--help"])
  help_text = capsys.readouterr().out
  for field, value in configfile.flat_fields(configfile.load_config(
      str(REPO / "configs" / "base.py"))).items():
    assert f"--config.{field}={value!r}" in help_text, field
  assert train.main(["--config", DEMO, "--config.model.width=24", "--print_config"]) == 0
  assert "width: 24" in capsys.readouterr().out
  assert train.main(["--config", DEMO, "--config.model.widht=24", "--print_config"]) == 2
  assert "unknown config fields" in capsys.readouterr().err


def test_a_second_train_on_a_busy_workdir_is_one_message(root, tmp_path, capsys):
  """The workdir lock: a second train.py on a workdir being trained is refused (exit 5,
  naming the holder's pid) and writes nothing there."""
  from conftest import as_run, REPO
  from srino_jax.training import configfile
  workdir = tmp_path / "run"
  config = configfile.load_config(str(REPO / "configs" / "qb.py"), [f"data.root={root}"])
  with as_run(config, workdir).lock():
    before = listing(workdir)
    got, _, err = _train(train_argv(root, workdir), capsys)
    assert got == 5, err
    one_error(err, "is being trained by another process", f"pid {os.getpid()}")
    assert listing(workdir) == before


def test_a_damaged_latest_that_is_also_the_best_is_retrained_and_saved_again(root, tmp_path,
                                                                             capsys):
  """Issue 18: last/4 damaged while best/4 holds the same step. Resuming from step 2 redoes
  step 4, whose validation saves best/4 again: the old best/4 is moved aside with the
  damaged step (it used to fail with orbax's StepAlreadyExistsError)."""
  workdir = tmp_path / "run"
  four = train_argv(root, workdir, "--config.train.aux_steps=4")
  assert _train(four, capsys)[0] == 0
  aux = workdir / "checkpoints" / "aux"
  assert (aux / "best" / "4").is_dir()
  _damage(aux / "last" / "4", "missing")
  got, _, err = _train(four, capsys)
  assert got == 0, err
  assert "Traceback" not in err and "StepAlreadyExists" not in err
  assert (aux / "best" / "4").is_dir() and (aux / "damaged" / "best-4").is_dir()
  assert (aux / "last" / "4").is_dir() and (aux / "damaged" / "last-4").is_dir()
