"""srino_jax.atomic: a write interrupted by SIGTERM / SIGINT leaves no temporary file and the
old output intact, under cli.run (exit code, one line) and in library use."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from _reliability import ROOT, listing as _listing, one_error as _one_error

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


# ------------------------------------------------------------------ publishing (issue 18)

def test_without_overwrite_a_file_that_appeared_meanwhile_is_never_replaced(tmp_path):
  from srino_jax.atomic import atomic_output
  from srino_jax.errors import OutputExistsError
  out = tmp_path / "out.h5"
  with pytest.raises(OutputExistsError, match="appeared while this run was writing it"):
    with atomic_output(out, overwrite=False) as tmp:
      open(tmp, "w").write("mine")
      out.write_text("the other run's")  # another run finished first
  assert out.read_text() == "the other run's" and _listing(tmp_path) == ["out.h5"]
  with atomic_output(out, overwrite=True) as tmp:  # --overwrite: replaced, as asked
    open(tmp, "w").write("mine")
  assert out.read_text() == "mine"
  with atomic_output(tmp_path / "new.h5", overwrite=False) as tmp:  # absent: published
    open(tmp, "w").write("new")
  assert (tmp_path / "new.h5").read_text() == "new"
  assert _listing(tmp_path) == ["new.h5", "out.h5"]


def test_a_signal_recorded_while_writing_stops_before_publishing(tmp_path):
  """A signal swallowed by a library callback (or deferred) is recorded; the check right
  before publishing raises it: the old output stays, no temp file is left."""
  from srino_jax import signals
  from srino_jax.atomic import atomic_output
  from srino_jax.errors import Interrupted
  out = tmp_path / "out.h5"
  out.write_text("old")
  with pytest.raises(Interrupted):
    with signals.deferred_signals(), atomic_output(out) as tmp:
      open(tmp, "w").write("new")
      signals._Deferral.pending = signal.SIGTERM  # what _on_signal records
  assert out.read_text() == "old" and _listing(tmp_path) == ["out.h5"]


def test_temp_files_of_dead_processes_are_removed_by_the_next_write(tmp_path):
  from srino_jax.atomic import write_text_atomic
  dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                        capture_output=True, text=True).stdout.strip()
  stale = tmp_path / f".out.json.srino-{dead}.x1y2.tmp"
  live = tmp_path / f".out.json.srino-{os.getppid()}.a1b2.tmp"  # a running process's
  other = tmp_path / ".other.json.srino-1.zz.tmp"  # another output's: not this write's
  for p in (stale, live, other):
    p.write_text("partial")
  write_text_atomic(tmp_path / "out.json", "{}")
  assert not stale.exists() and live.exists() and other.exists()
