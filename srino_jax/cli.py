"""One error style for every command line of srino-jax (argparse only).

An entry point is written as

  def build_parser() -> argparse.ArgumentParser:
    p = cli.make_parser("python -m srino_jax.x", "What it does.")
    p.add_argument("--count", type=cli.positive_int, default=4, help="...")
    p.add_argument("--out", required=True, help="...")
    p.add_argument("--overwrite", action="store_true", help="...")
    return p

  def _main(args) -> int:            # the work; raises srino_jax.errors on expected failures
    cli.check_writable(args.out, args.overwrite)   # before any expensive work
    with cli.reading(args.input):                  # library ValueErrors -> InputError
      data = read(args.input)
    ...
    return 0

  def main(argv=None) -> int:
    return cli.run(_main, build_parser(), argv)

API:
  make_parser(prog, description, **kwargs) -> argparse.ArgumentParser
      An ArgumentParser whose `error()` raises `UsageError` (one line, exit 2, instead of
      argparse's usage dump) and that has `--debug` (print tracebacks of every error).
  run(main_fn, parser, argv=None) -> int
      Parses `argv` (None: sys.argv[1:]), installs SIGINT/SIGTERM handlers that raise
      `errors.Interrupted` in the main thread (so `finally` blocks and srino_jax.atomic remove
      their temp files; the previous handlers are restored on return), calls
      `main_fn(args)` and returns its exit status (None counts as 0). Expected failures are
      printed as ONE line on stderr, `error: <what is wrong>. <what to do>`, and mapped to
      the exit codes of `srino_jax.errors` (usage 2, input 3, checkpoint 4, output 5,
      SIGINT 130, SIGTERM 143); `--help` returns 0. Also mapped: FileExistsError -> 5,
      FileNotFoundError -> 3, OSError ENOSPC/EDQUOT/EROFS/EACCES/EPERM -> 5. Any other
      exception is a bug: traceback, exit 1. With --debug every error prints its traceback
      before the one-line message (same exit code). Warnings are printed as one line
      `warning: <message>` on stderr (no file/line prefix).
  check_writable(path, overwrite=False, flag="--overwrite") -> pathlib.Path
      Refuses (OutputExistsError) an existing `path` without `overwrite`, a `path` that is
      a folder, and (OutputError) a destination whose nearest existing parent is not a
      folder or not writable (a probe file is created and removed there, so read-only
      mounts are caught even for root). Creates nothing.
  handle_signals, deferred_signals, check_interrupted: from `srino_jax.signals`:
  deferred_signals() -> context manager
      Within the block (around JAX work: compilation, training steps, sampler calls) a
      SIGINT/SIGTERM received under `run` only sets a flag; `check_interrupted()` raises
      `Interrupted` at the next safe point (between steps / sampler calls) and leaving the
      block raises it too. Raising inside JAX (a compile, a garbage-collection callback)
      could be swallowed or crash; a second signal still raises at once.
  check_interrupted() -> None
      Raises `Interrupted` if a signal was deferred (a no-op otherwise).
  reading(path=None) -> context manager
      Turns any exception raised inside (a reader's ValueError, a parser's error on a
      damaged file) into InputError / MissingInputError naming `path` (when the message
      does not already); errors.SrinoError and Interrupted pass unchanged.
  check_positive(value, flag, allow_zero=False) -> value   (raises UsageError)
  sensor_arg(name, flag="--sensor") -> Sensor   (raises UsageError naming the known sensors)
  positive_int, nonnegative_int, positive_float, unit_fraction: argparse `type=` callables.
  print_error(exc, file=sys.stderr): the one-line message of an exception.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence

from srino_jax.errors import (WRITE_ERRNOS, InputError, Interrupted, MissingInputError,
                              OutputError, OutputExistsError, SrinoError, UsageError,
                              exit_code_of)
from srino_jax.sensors import Sensor, get_sensor, sensor_names
from srino_jax.signals import check_interrupted, deferred_signals, handle_signals

__all__ = ["make_parser", "run", "check_writable", "reading", "check_positive", "positive_int",
           "nonnegative_int", "positive_float", "unit_fraction", "bit_depth", "numeric_dtype",
           "sensor_arg", "print_error",
           "message_of", "handle_signals", "deferred_signals", "check_interrupted"]

class _Parser(argparse.ArgumentParser):
  """ArgumentParser that reports a bad argument as a `UsageError` (one line, exit 2)."""

  def error(self, message: str):
    raise UsageError(f"{self.prog}: {message}", f"See {self.prog} --help.")


def make_parser(prog: str, description: str, **kwargs) -> argparse.ArgumentParser:
  """An argparse parser with `--debug`, whose errors are one-line `UsageError`s.

  Args:
    prog: the program as typed, e.g. "python -m srino_jax.evaluate".
    description: what it does (shown by --help).
    **kwargs: more `argparse.ArgumentParser` arguments (e.g. epilog, formatter_class).
  """
  p = _Parser(prog=prog, description=description, **kwargs)
  p.add_argument("--debug", action="store_true",
                 help="print the full Python traceback of any error (for bug reports)")
  return p


def message_of(exc: BaseException) -> str:
  """The one-line `error: ...` text for `exc` (no trailing newline)."""
  if isinstance(exc, Interrupted):
    text = (f"{exc}. Stopped; temporary files were removed and existing outputs left as "
            f"they were.")
  elif isinstance(exc, SrinoError):
    text = exc.message.rstrip(". ") + "." + (f" {exc.hint}" if exc.hint else "")
  elif isinstance(exc, FileExistsError):
    text = f"{_os_text(exc)}. Pass --overwrite to replace it, or choose another path."
  elif isinstance(exc, FileNotFoundError):
    text = f"{_os_text(exc)}. Check the path."
  elif isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
    what, todo = WRITE_ERRNOS[exc.errno]
    where = f" writing {exc.filename}" if exc.filename else ""
    text = f"{what}{where}. {todo}"
  else:
    text = f"{type(exc).__name__}: {exc}"
  return "error: " + " ".join(str(text).split())


def _os_text(exc: OSError) -> str:
  if exc.strerror and exc.filename:
    return f"{exc.strerror}: {exc.filename}"
  return str(exc)


def print_error(exc: BaseException, file=None) -> None:
  """Prints the one-line message of `exc` on `file` (stderr by default)."""
  print(message_of(exc), file=sys.stderr if file is None else file, flush=True)


def _expected(exc: BaseException) -> int | None:
  """The exit code of an expected failure, None for a bug."""
  if isinstance(exc, (SrinoError, Interrupted, KeyboardInterrupt)):
    return exit_code_of(exc)
  if isinstance(exc, FileExistsError):
    return OutputError.exit_code
  if isinstance(exc, FileNotFoundError):
    return MissingInputError.exit_code
  if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
    return OutputError.exit_code
  return None


def run(main_fn: Callable[[argparse.Namespace], int | None], parser: argparse.ArgumentParser,
        argv: Sequence[str] | None = None) -> int:
  """Runs an entry point with the common error style (see the module docstring).

  Args:
    main_fn: the work, given the parsed arguments; returns an exit status or None.
    parser: from `make_parser` (a plain ArgumentParser works too; its errors then exit
      through argparse).
    argv: the arguments (default: sys.argv[1:]).

  Returns:
    the exit status: main_fn's, or the code of the expected failure (`srino_jax.errors`).
    Bugs print their traceback and return 1.
  """
  argv = sys.argv[1:] if argv is None else list(argv)
  debug = "--debug" in argv
  with handle_signals(), warnings.catch_warnings():
    warnings.showwarning = _show_warning
    try:
      try:
        args = parser.parse_args(argv)
      except SystemExit as e:  # --help / --version
        return int(e.code or 0) if not isinstance(e.code, str) else 2
      debug = bool(getattr(args, "debug", debug))
      status = main_fn(args)
      check_interrupted()  # a signal whose exception a callback swallowed still stops here
      return 0 if status is None else int(status)
    except BaseException as exc:  # noqa: BLE001 - every exit goes through here
      if isinstance(exc, SystemExit):
        raise
      code = _expected(exc)
      if code is None or debug:
        traceback.print_exc(file=sys.stderr)
      if code is None:
        return 1
      print_error(exc)
      return code


def _show_warning(message, category, filename, lineno, file=None, line=None):
  print("warning: " + " ".join(str(message).split()), file=sys.stderr if file is None else file,
        flush=True)


def _same_file(a, b) -> bool:
  """Whether two paths name one file (resolved links and relative parts; hard links too)."""
  a, b = pathlib.Path(a), pathlib.Path(b)
  if a.resolve() == b.resolve():
    return True
  try:
    return a.exists() and b.exists() and os.path.samefile(a, b)
  except OSError:
    return False


def check_writable(path, overwrite: bool = False, flag: str = "--overwrite",
                   inputs: dict | None = None) -> pathlib.Path:
  """Checks, before any work, that `path` can be written.

  Args:
    path: the output file.
    overwrite: an existing file may be replaced.
    flag: the option named in the message that allows replacing.
    inputs: {flag: path} of the command's inputs: the output may be none of them, even
      with --overwrite (it would destroy the input).

  Returns:
    `path` as a pathlib.Path.

  Raises:
    OutputExistsError: `path` exists (and not `overwrite`), or is a folder.
    OutputError: the nearest existing parent is not a folder, or a file cannot be created
      there (permissions, read-only file system, ...).
  """
  path = pathlib.Path(path)
  for name, src in (inputs or {}).items():
    if src is not None and _same_file(path, src):
      raise UsageError(f"the output {path} is the input {name} {src}: writing it would "
                       "destroy the input", "Choose another output path.")
  if path.is_dir():
    raise OutputExistsError(f"{path} is a folder, expected a file name",
                            "Give a file path.", file=path)
  if path.exists() and not overwrite:
    raise OutputExistsError(f"{path} exists", f"Pass {flag} to replace it, or choose another "
                            f"path.", file=path)
  parent = path.parent
  while not parent.exists():
    parent = parent.parent
  if not parent.is_dir():
    raise OutputError(f"cannot create {path}: {parent} is a file, not a folder",
                      "Choose another output path.", file=path)
  try:
    with tempfile.TemporaryFile(dir=parent, prefix=".srino-probe."):
      pass
  except OSError as e:
    raise OutputError(f"cannot write in {parent} ({e.strerror or e})",
                      "Check the folder's permissions or choose another path.",
                      file=path) from None
  return path


@contextlib.contextmanager
def reading(path=None) -> Iterator[None]:
  """Reports any failure while reading an input as `InputError` / `MissingInputError`.

  Wrap only the call that reads an input file: whatever a reader raises there (its own
  ValueError naming file, key and problem, or a parser's IndexError / MatReadError on a
  damaged file) is a problem of the input, shown in one line (--debug for the traceback).
  `SrinoError`s and `Interrupted` pass through unchanged.
  """
  try:
    yield
  except SrinoError:
    raise
  except FileNotFoundError as e:
    name = e.filename or path
    raise MissingInputError(f"input not found: {name}" if e.filename else str(e),
                            "Check the path.", file=name) from e
  except Exception as e:  # noqa: BLE001 - see the docstring
    text = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
    if not isinstance(e, (ValueError, KeyError, OSError)):
      text = f"{type(e).__name__}: {text}"
    if path is not None and str(path) not in str(text) and pathlib.Path(path).name not in str(
        text):
      text = f"cannot read {path}: {text}"
    raise InputError(str(text), "Check the file (see --help for the expected layout).",
                     file=path) from e


def check_positive(value, flag: str, allow_zero: bool = False):
  """Returns `value`, or raises UsageError naming `flag` when it is < 1 (< 0 with
  allow_zero). None passes (an unset optional)."""
  if value is None:
    return value
  if value < 0 or (value == 0 and not allow_zero):
    bound = ">= 0" if allow_zero else "> 0"
    raise UsageError(f"{flag} must be {bound}, got {value}", f"Set {flag} to a number {bound}.")
  return value


def sensor_arg(name: str, flag: str = "--sensor") -> Sensor:
  """The sensor a flag names (any case); UsageError naming `flag` and the known sensors."""
  try:
    return get_sensor(name)
  except (KeyError, ValueError) as e:
    raise UsageError(f"{flag}: {e.args[0] if e.args else e}",
                     f"Use one of {', '.join(sensor_names()).lower()}.") from None


def _typed(conv, test, what):
  def parse(text: str):
    try:
      value = conv(text)
    except ValueError:
      raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not test(value):
      raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
    return value
  parse.__name__ = what
  return parse


positive_int = _typed(int, lambda v: v > 0, "an integer > 0")
nonnegative_int = _typed(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _typed(float, lambda v: v > 0 and v == v and v != float("inf"), "a number > 0")
unit_fraction = _typed(float, lambda v: 0.0 <= v < 1.0, "a number in [0, 1)")
# A bit depth of digital numbers (1 .. 32, as `sensors.max_value_of_bits`), e.g. 11 or 8.
bit_depth = _typed(int, lambda v: 1 <= v <= 32, "a bit depth from 1 to 32")


def numeric_dtype(text: str) -> str:
  """A numeric NumPy data type name (uint16, float32, ...), else an argparse error."""
  import numpy as np
  try:
    dt = np.dtype(text)
  except TypeError:
    raise argparse.ArgumentTypeError(f"expected a numeric data type such as uint16 or "
                                     f"float32, got {text!r}") from None
  if dt.kind not in "uif":
    raise argparse.ArgumentTypeError(f"expected a numeric data type, got {text!r} ({dt})")
  return dt.name

