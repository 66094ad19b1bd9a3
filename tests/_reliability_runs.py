"""Helpers of the train.py / sample.py reliability tests: the tiny run's command lines, a
hand-made run folder to sample from, and a child process that sends itself a signal at a
chosen moment (during compilation, a training step, a checkpoint save, a sampler call, an
h5 write)."""

from __future__ import annotations

import importlib.util
import os
import pathlib
import subprocess
import sys
import textwrap

from conftest import REPO, TINY_OVERRIDES


def script_main(name: str):
  """`main` of the repository's `train.py` / `sample.py` (imported from this checkout)."""
  spec = importlib.util.spec_from_file_location(f"{name}_cli", REPO / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.main


def train_argv(root, workdir, *extra) -> list[str]:
  """train.py's arguments for the tiny QB run on the synthetic data in `root`: aux only,
  6 steps, checkpoints every 2, no validation before the end."""
  overrides = [f"--config.{o}" for o in TINY_OVERRIDES]
  return ["--config", str(REPO / "configs" / "qb.py"), f"--config.data.root={root}",
          *overrides, "--config.train.aux_steps=6", "--config.train.eval_every=100",
          "--config.train.keep_checkpoints=5", "--stage", "aux", "--quiet",
          "--workdir", str(workdir), *extra]


def listing(folder) -> list[str]:
  """Every file and folder under `folder` (relative paths, hidden temp files included)."""
  folder = pathlib.Path(folder)
  return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def child_env(cache_dir) -> dict:
  """This checkout first on the path; a compilation cache shared by the module's children."""
  return dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu",
              JAX_COMPILATION_CACHE_DIR=str(cache_dir),
              JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
              JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")


# argv: <hook> <signal> <n-th call> <delay s> <script> <script args...>. The hook wraps a
# function; on its n-th call the process sends itself the signal, from a timer thread after
# `delay` seconds (so that it lands while the wrapped call runs in C++: XLA, TensorStore),
# or at once with delay 0.
_CHILD = textwrap.dedent("""
    import os, signal, sys, threading
    hook, sig, nth, delay, script = sys.argv[1:6]
    sig, nth, delay = getattr(signal, sig), int(nth), float(delay)
    calls = [0]

    def fire():
      if delay > 0:
        threading.Timer(delay, os.kill, (os.getpid(), sig)).start()
      else:
        os.kill(os.getpid(), sig)

    def wrap(owner, name, returns_fn=False):
      real = getattr(owner, name)
      def counted(*a, **k):
        calls[0] += 1
        if calls[0] == nth:
          print(f"signal at {hook} call {nth}", file=sys.stderr, flush=True)
          fire()
        return real(*a, **k)
      def factory(*a, **k):  # wraps the function `real` returns
        fn = real(*a, **k)
        def inner(*b, **kw):
          calls[0] += 1
          if calls[0] == nth:
            fire()
          return fn(*b, **kw)
        return inner
      setattr(owner, name, factory if returns_fn else counted)

    if hook == "compile":
      import jax._src.compiler as compiler
      wrap(compiler, "compile_or_get_cached")
    elif hook == "batch":
      from srino_jax.data import pipeline
      wrap(pipeline.TrainBatches, "batch")
    elif hook == "save":
      from srino_jax import checkpoints
      wrap(checkpoints.StageCheckpoints, "save")
    elif hook == "sampler":
      from srino_jax import inference
      wrap(inference, "make_fuser", returns_fn=True)  # the fuser it returns, per call
    elif hook == "write":
      import h5py
      wrap(h5py.Group, "create_dataset")
    import importlib
    sys.argv = [script + ".py"] + sys.argv[6:]
    sys.exit(importlib.import_module(script).main(sys.argv[1:]))
    """)


def run_with_signal(script, argv, hook, sig, nth, cache_dir, delay=0.0, timeout=240):
  """Runs `script` (train / sample) in a child that signals itself at `hook`'s nth call;
  returns the CompletedProcess (stdout, stderr as text)."""
  cmd = [sys.executable, "-c", _CHILD, hook, sig, str(nth), str(delay), script,
         *[str(a) for a in argv]]
  return subprocess.run(cmd, cwd=REPO, env=child_env(cache_dir), capture_output=True, text=True,
                        timeout=timeout)


def last_line(stderr: str) -> str:
  """The last non-empty stderr line (progress bars and warnings come before the error)."""
  lines = [ln for ln in stderr.replace("\r", "\n").splitlines() if ln.strip()]
  return lines[-1] if lines else ""
