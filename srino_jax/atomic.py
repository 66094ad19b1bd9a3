"""All-or-nothing file writes: a temp file beside the target, put in place on success.

Every file srino-jax writes (PanCollection h5, GeoTIFF, tables, run configs) goes through
here, so an interrupted or failed write never leaves a half-written file under the name.
A SIGTERM during the write is turned into `srino_jax.errors.Interrupted` (when nothing else
handles SIGTERM), so the temp file is removed on SIGTERM as on Ctrl-C.

Publishing: right before the temp file takes the name, a signal recorded while writing
(deferred, or raised inside a library callback that swallowed it) stops the write instead
(`signals.check_interrupted`). Without `overwrite` the temp file is hard-linked to the name,
which fails if the name appeared meanwhile (another run writing the same output): nothing
is ever replaced that the run was not told to replace.

Temp files are named `.<name>.srino-<pid>.<random>.tmp`: a later write of the same name
removes those of processes that no longer run (a run killed with SIGKILL).
"""

from __future__ import annotations

import contextlib
import errno
import os
import pathlib
import re
import signal
import tempfile
import threading
from typing import Iterator

from srino_jax.errors import Interrupted, OutputExistsError
from srino_jax.signals import check_interrupted

__all__ = ["atomic_output", "write_text_atomic", "temp_prefix", "remove_stale_temps"]


def temp_prefix(path: pathlib.Path) -> str:
  """The prefix of this process's temp files for `path` (see the module docstring)."""
  return f".{path.name}.srino-{os.getpid()}."


def _alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # another user's process: alive
    return True
  return True


def remove_stale_temps(path: pathlib.Path) -> list[str]:
  """Removes the temp files of `path` left by processes that no longer run; returns them."""
  pattern = re.compile(re.escape(f".{path.name}.srino-") + r"(\d+)\.")
  removed = []
  try:
    names = os.listdir(path.parent)
  except OSError:
    return removed
  for name in names:
    match = pattern.match(name)
    if match and not _alive(int(match.group(1))):
      try:
        os.remove(path.parent / name)
        removed.append(name)
      except OSError:
        pass
  return removed


def _publish(tmp: str, path: pathlib.Path, overwrite: bool) -> None:
  """Puts `tmp` under `path`: replacing it with `overwrite`, else only if it is absent."""
  if overwrite:
    os.replace(tmp, path)
    return
  try:
    os.link(tmp, path)  # atomic, and fails if the name exists (unlike rename)
  except FileExistsError:
    raise OutputExistsError(
        f"{path} appeared while this run was writing it (another run writing the same "
        "output?); it was left as it is and this run's result discarded",
        "Give each run its own output, or pass --overwrite.", file=str(path)) from None
  except OSError as err:
    if err.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV,
                         errno.EMLINK):
      raise
    # A file system without hard links: check, then rename (a small window remains).
    if path.exists():
      raise OutputExistsError(f"{path} appeared while this run was writing it",
                              "Give each run its own output, or pass --overwrite.",
                              file=str(path)) from None
    os.replace(tmp, path)
  else:
    os.remove(tmp)


@contextlib.contextmanager
def atomic_output(path, overwrite: bool = True) -> Iterator[str]:
  """Yields a temp file name in `path`'s folder, put in place as `path` when the block
  succeeds and removed when it fails, so no half-written file is ever left under `path`.

  Args:
    path: the output.
    overwrite: replace an existing `path`; False publishes only if `path` does not exist
      at the end (a file that appeared meanwhile is never replaced).

  Raises:
    Interrupted: a signal recorded during the block (checked before publishing).
    OutputExistsError: `path` exists at the end and not `overwrite`.
  """
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  remove_stale_temps(path)
  with _sigterm_raises():
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
      mask = os.umask(0o022)  # read the umask (set and restore) ...
      os.umask(mask)
      os.chmod(tmp, 0o666 & ~mask)  # ... as mkstemp makes 0600 files
      yield tmp
      check_interrupted()  # a signal swallowed while writing stops here, not after
      _publish(tmp, path, overwrite)
    finally:
      if os.path.exists(tmp):
        os.remove(tmp)


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
  """SIGTERM raises `Interrupted` in the block, if its handler is the default (which kills
  the process without running `finally`: the temp file would stay). A handler installed by
  the program (e.g. `srino_jax.cli.run`) is left alone; so is any thread but the main one."""
  if (threading.current_thread() is not threading.main_thread()
      or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
    yield
    return

  def _raise(signum, frame):
    raise Interrupted(signum)

  signal.signal(signal.SIGTERM, _raise)
  try:
    yield
  finally:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def write_text_atomic(path, text: str) -> None:
  """Writes `text` (UTF-8, newlines as given) to `path` all at once."""
  with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
    f.write(text)
