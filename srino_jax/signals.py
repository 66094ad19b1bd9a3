"""SIGINT and SIGTERM as `srino_jax.errors.Interrupted`, raised where it is safe.

`srino_jax.cli.run` installs `handle_signals` around every entry point: a signal raises
`Interrupted` in the main thread, so `finally` blocks and `srino_jax.atomic` remove their
temp files and the run exits 130 / 143. Around JAX work (compilation, training steps,
sampler calls) the entry points open a `deferred_signals` block: there a signal only sets a
flag, and `check_interrupted()`, called between steps and between sampler calls, raises it.
An exception raised inside JAX (a compile, a garbage-collection callback) can be swallowed
("Exception ignored in ...") or crash the process; at a step boundary it cannot. A second
signal still raises at once (to stop a run stuck in one long call).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

from srino_jax.errors import Interrupted

__all__ = ["handle_signals", "deferred_signals", "check_interrupted"]


class _Deferral:
  """Module state of `deferred_signals`: the nesting depth and the signal received."""

  depth = 0
  pending: int | None = None


def _on_signal(signum, frame):
  """The SIGINT/SIGTERM handler of `run`: raise, or only record while deferring; a second
  signal while one is pending ends the process at once."""
  if _Deferral.depth > 0 and _Deferral.pending is not None:
    # Insisting. Raising here could land inside a JAX compilation or call (a segfault, seen
    # 4 of 4 times): end the process now instead. Temp files are named by pid, so the next
    # run removes what this one leaves (`atomic.remove_stale_temps`); an unfinished
    # checkpoint save is a damaged step that training falls back past.
    name = signal.Signals(signum).name
    os.write(2, f"error: stopped at once by a second {name}; existing outputs untouched "
                f"(temporary files are removed by the next run)\n".encode())
    os._exit(128 + int(signum))
  if _Deferral.depth > 0 and _Deferral.pending is None:
    _Deferral.pending = int(signum)
    name = signal.Signals(signum).name
    # os.write: print() from a handler may re-enter a stream being written.
    os.write(2, f"warning: {name} received: stopping at the next safe point (between "
                f"steps); send it again to stop at once.\n".encode())
    return
  # Recorded as well as raised: Python ignores an exception raised inside a garbage-collection
  # or weakref callback (JAX runs such callbacks), and the run would go on and exit 0. The
  # record makes the next `check_interrupted` (between steps, or `cli.run` at the end) raise.
  _Deferral.pending = int(signum)
  raise Interrupted(signum)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
  """Within the block, SIGINT and SIGTERM raise `Interrupted` in the main thread (or, in a
  `deferred_signals` block, at its next `check_interrupted`).

  Outside the main thread (where Python cannot install handlers) this does nothing. The
  previous handlers are restored on exit.
  """
  if threading.current_thread() is not threading.main_thread():
    yield
    return
  old = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
  try:
    yield
  finally:
    for s, h in old.items():
      signal.signal(s, h)
    _Deferral.pending = None


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
  """Defers SIGINT/SIGTERM (as handled by `run`) to `check_interrupted` calls in the block.

  Without `run`'s handlers (library use) signals behave as usual. Nests.

  Raises:
    Interrupted: on leaving the block normally when a signal arrived in it.
  """
  _Deferral.depth += 1
  try:
    yield
  finally:
    _Deferral.depth -= 1
  check_interrupted()


def check_interrupted() -> None:
  """Raises `Interrupted` for a signal deferred by `deferred_signals` (once)."""
  signum, _Deferral.pending = _Deferral.pending, None
  if signum is not None:
    raise Interrupted(signum)
