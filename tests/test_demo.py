"""python demo.py through the common CLI: one-line errors with their exit codes, and training
and sampling under deferred signals (the work itself is replaced by stand-ins)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from _reliability import one_error
from conftest import REPO
from srino_jax import inference, signals
from srino_jax.training import loop


@pytest.fixture
def demo():
  spec = importlib.util.spec_from_file_location("demo_cli", REPO / "demo.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def test_help_and_a_bad_flag(demo, capsys):
  assert demo.main(["--help"]) == 0
  out = capsys.readouterr().out
  assert "--workdir" in out and "--fresh" in out and "--debug" in out
  assert demo.main(["--frobnicate"]) == 2
  one_error(capsys.readouterr().err, "python demo.py", "unrecognized arguments: --frobnicate")


def test_training_and_sampling_run_with_deferred_signals(demo, tmp_path, capsys, monkeypatch):
  """The calls in order, each with whether signals were deferred (no JAX work is done)."""
  calls = []

  def record(name, result=None):
    def stand_in(*args, **kwargs):
      calls.append((name, signals._Deferral.depth > 0))
      return result
    return stand_in

  monkeypatch.setattr(loop, "prepare_data", record("prepare_data"))
  monkeypatch.setattr(loop, "train", record("train"))
  class FakeRun:
    params = record("params")
    data_path = staticmethod(lambda name: name)

  monkeypatch.setattr(demo.Run, "load", record("Run.load", FakeRun))
  monkeypatch.setattr(inference, "make_fuser", record("make_fuser"))
  monkeypatch.setattr(inference, "read_input", record("read_input",
                                                       ({"pan": np.zeros((3, 8, 8, 1))}, None)))
  monkeypatch.setattr(demo, "_table", record("table"))
  missing = tmp_path / "absent.mat"
  monkeypatch.setenv("SRINO_REAL_WV2", str(missing))
  workdir = tmp_path / "run"
  workdir.mkdir()
  (workdir / "old").write_text("x")
  assert demo.main(["--workdir", str(workdir), "--fresh"]) == 0
  assert not workdir.exists()  # --fresh removed it (train is a stand-in)
  assert calls == [("prepare_data", False), ("train", True), ("Run.load", True),
                   ("params", True), ("make_fuser", True), ("read_input", True),
                   ("table", True)]
  out = capsys.readouterr().out
  assert f"[skipped] real WV2 scene not found at {missing}" in out
  assert "demo: training" in out


def test_missing_data_is_one_line(demo, tmp_path, capsys, monkeypatch):
  def no_data(config):
    raise FileNotFoundError("data file(s) not found: x/train_wv3.h5")

  monkeypatch.setattr(loop, "prepare_data", no_data)
  monkeypatch.setattr(loop, "train", lambda *a, **k: pytest.fail("trained without data"))
  assert demo.main(["--workdir", str(tmp_path / "run")]) == 3
  one_error(capsys.readouterr().err, "data file(s) not found: x/train_wv3.h5")
