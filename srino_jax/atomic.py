"""All-or-nothing file writes: a temp file beside the target, renamed into place on success.

Every file srino-jax writes (PanCollection h5, GeoTIFF, tables, run configs) goes through
here, so an interrupted or failed write never leaves a half-written file under the name.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile
from typing import Iterator

__all__ = ["atomic_output", "write_text_atomic"]


@contextlib.contextmanager
def atomic_output(path) -> Iterator[str]:
  """Yields a temp file name in `path`'s folder, renamed to `path` when the block succeeds
  and removed when it fails, so no half-written file is ever left under `path`."""
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
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


def write_text_atomic(path, text: str) -> None:
  """Writes `text` (UTF-8, newlines as given) to `path` all at once."""
  with atomic_output(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
    f.write(text)
