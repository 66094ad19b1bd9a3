"""The expected failures of srino-jax, each with its own exit code.

Library code raises these for problems a user can fix (a bad argument, a damaged input file,
an existing output, ...); `srino_jax.cli.run` turns them into one line on stderr,

  error: <what is wrong>. <what to do>

and the exit code below. Anything else escaping an entry point is a bug and is shown with
its traceback. Each class also derives from the builtin the code raised before it existed,
so `except ValueError` / `pytest.raises(FileExistsError)` keep working.

  code  name                                  meaning
  ----  ------------------------------------  ---------------------------------------------
     0  -                                     success
     1  (any other exception)                 a bug: traceback printed
     2  UsageError(ValueError)                bad command-line arguments
     3  InputError(ValueError),               an input file is missing, unreadable or
        MissingInputError(FileNotFoundError)  malformed (file, key and problem named)
     4  CheckpointError(RuntimeError)         no usable checkpoint (missing, damaged,
                                              trained with other settings)
     5  OutputError(OSError),                 an output exists (no --overwrite), its folder
        OutputExistsError(FileExistsError)    is not writable, or the disk is full
     6  DivergedError(FloatingPointError)     training stopped on a NaN/Inf loss (the last
                                              good checkpoint is kept)
   130  Interrupted(KeyboardInterrupt)        SIGINT (Ctrl-C): stopped, temp files removed
   143  Interrupted(KeyboardInterrupt)        SIGTERM (e.g. a scheduler): same

`Interrupted` derives from KeyboardInterrupt (not Exception), so `except Exception` in
library code never swallows a signal and `finally` blocks (srino_jax.atomic) still run.
"""

from __future__ import annotations

import errno
import signal

__all__ = ["SrinoError", "UsageError", "InputError", "MissingInputError", "CheckpointError",
           "OutputError", "OutputExistsError", "DivergedError", "Interrupted", "EXIT_CODES",
           "WRITE_ERRNOS", "exit_code_of"]


class SrinoError(Exception):
  """Base of the expected failures.

  Attributes:
    exit_code: the process exit status `srino_jax.cli.run` returns for it.
    hint: what the user can do about it (the sentence after the message), or "".
  """

  exit_code = 1

  def __init__(self, message: str, hint: str = ""):
    super().__init__(message)
    self.message = str(message)
    self.hint = hint

  def __str__(self) -> str:
    return self.message


class UsageError(SrinoError, ValueError):
  """A command-line argument is wrong (exit 2, as argparse)."""

  exit_code = 2


class InputError(SrinoError, ValueError):
  """An input file is unreadable or malformed (exit 3).

  Args:
    message: the whole message (it names the file, key and problem), or only the problem
      when `file` is given ("<file>: key '<key>' <problem>" is then built).
    hint: what to do.
    file, key: the file and the key/dataset concerned (optional, kept as attributes).
  """

  exit_code = 3

  def __init__(self, message: str, hint: str = "", *, file=None, key: str | None = None):
    self.file, self.key = file, key
    if file is not None and not str(message).startswith(str(file)):
      where = f"{file}: key '{key}'" if key else f"{file}:"
      message = f"{where} {message}"
    super().__init__(message, hint)


class MissingInputError(SrinoError, FileNotFoundError):
  """An input file or folder does not exist (exit 3)."""

  exit_code = 3

  def __init__(self, message: str, hint: str = "", *, file=None):
    super().__init__(message, hint)
    self.filename = None if file is None else str(file)


class CheckpointError(SrinoError, RuntimeError):
  """No usable checkpoint: missing, damaged, or made with other settings (exit 4)."""

  exit_code = 4


class OutputError(SrinoError, OSError):
  """An output cannot be written: unwritable folder, read-only file system, disk full
  (exit 5)."""

  exit_code = 5

  def __init__(self, message: str, hint: str = "", *, file=None):
    SrinoError.__init__(self, message, hint)
    self.filename = None if file is None else str(file)


class OutputExistsError(OutputError, FileExistsError):
  """An output file exists and overwriting was not asked for (exit 5)."""


class DivergedError(SrinoError, FloatingPointError):
  """Training met a non-finite loss and stopped; the last good checkpoint is kept (exit 6)."""

  exit_code = 6


class Interrupted(KeyboardInterrupt):
  """Raised in the main thread by `srino_jax.cli`'s SIGINT/SIGTERM handlers.

  Attributes:
    signum: the signal received.
    exit_code: 128 + signum (130 for SIGINT, 143 for SIGTERM), the shell's convention.
  """

  def __init__(self, signum: int = signal.SIGINT):
    self.signum = int(signum)
    self.exit_code = 128 + self.signum
    super().__init__(f"interrupted by {signal.Signals(self.signum).name}")


EXIT_CODES = {"ok": 0, "bug": 1, "usage": 2, "input": 3, "checkpoint": 4, "output": 5,
              "diverged": 6,
              "sigint": 128 + signal.SIGINT, "sigterm": 128 + signal.SIGTERM}


def exit_code_of(exc: BaseException) -> int:
  """The exit code for `exc` (1 for anything that is not an expected failure)."""
  if isinstance(exc, (SrinoError, Interrupted)):
    return exc.exit_code
  if isinstance(exc, KeyboardInterrupt):
    return EXIT_CODES["sigint"]
  return 1


# The errnos of a write that failed for a reason the user can fix (exit 5), each with its
# one-line wording and what to do: `srino_jax.cli` reports an OSError with one of them, and
# `srino_jax.checkpoints` recognises a failed checkpoint save by them.
WRITE_ERRNOS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device", "Free some space or write to another disk."),
    errno.EROFS: ("read-only file system", "Write to another folder."),
    errno.EACCES: ("permission denied", "Check the folder's permissions or write elsewhere."),
    errno.EPERM: ("operation not permitted",
                  "Check the folder's permissions or write elsewhere."),
}
if hasattr(errno, "EDQUOT"):  # not on every platform
  WRITE_ERRNOS[errno.EDQUOT] = ("disk quota exceeded", "Free some space or write elsewhere.")
