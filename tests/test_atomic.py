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
