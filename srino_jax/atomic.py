"""All-or-nothing file writes: a temp file beside the target, renamed into place on success.

Every file srino-jax writes (PanCollection h5, GeoTIFF, tables, run configs) goes through
here, so an interrupted or failed write never leaves a half-written file under the name.
A SIGTERM during the write is turned into `srino_jax.errors.Interrupted` (when nothing else
handles SIGTERM), so the temp file is removed on SIGTERM as on Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import tempfile
import threading
from typing import Iterator

from srino_jax.errors import Interrupted

__all__ = ["atomic_output", "write_text_atomic"]


@contextlib.contextmanager
def atomic_output(path) -> Iterator[str]:
  """Yields a temp file name in `path`'s folder, renamed to `path` when the block succeeds
  and removed when it fails, so no half-written file is ever left under `path`."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  with _sigterm_raises():
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
      mask = os.umask(0o022)  # read the umask (set and restore) ...
      os.umask(mask)
      os.chmod(tmp, 0o666 & ~mask)  # ... as mkstemp makes 0600 files
      yield tmp
      os.replace(tmp, path)
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
