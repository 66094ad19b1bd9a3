"""Config files and command-line overrides: `configs/<name>.py` -> a locked ConfigDict.

  config = load_config("configs/wv3.py", ["model.width=32", "train.batch_size=16"])

A config file defines `get_config()` returning an `ml_collections.ConfigDict`. An override
`a.b=v` must name an existing field (typos fail, as `lock_config=True` does in absl's
config_flags) and its value is parsed to the field's type: int, float (ints accepted),
bool (true/false, yes/no, 1/0), or str.

On a command line the overrides are flags `--config.a.b=v` or `--config.a.b v` beside the
script's own (train.py):

  args, overrides = parse_config_flags(parser, argv)     # overrides also in args.overrides
  cli.run(main_fn, ConfigFlagsParser(parser), argv)      # main_fn reads args.overrides
"""

from __future__ import annotations

import argparse
import importlib.util
import pathlib
import sys
from typing import Any, Iterable, Sequence

import ml_collections

__all__ = ["load_config", "apply_overrides", "parse_value", "flat_fields", "split_config_flags",
           "parse_config_flags", "ConfigFlagsParser"]

_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def load_config(path: str, overrides: Iterable[str] = ()) -> ml_collections.ConfigDict:
  """Runs `get_config()` of the config file `path` and applies `overrides` ("a.b=v").

  The file may import its siblings as `configs.<name>` (the repository's sensor configs
  import `configs.base`): the folder holding `configs/` is put on `sys.path`.

  Returns:
    The locked ConfigDict (no field can be added later).

  Raises:
    FileNotFoundError: the file does not exist.
    ValueError: the file defines no get_config(), or an override names an unknown field
      or a value of the wrong type (the message names it).
  """
  file = pathlib.Path(path)
  if not file.is_file():
    raise FileNotFoundError(f"config file {path} does not exist")
  root = str(file.resolve().parent.parent)
  if root not in sys.path:
    sys.path.append(root)  # after the script's own folder: a repo checkout wins
  spec = importlib.util.spec_from_file_location(f"_srino_config_{file.stem}", file)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  if not hasattr(module, "get_config"):
    raise ValueError(f"config file {path} defines no get_config()")
  config = module.get_config()
  if not isinstance(config, ml_collections.ConfigDict):
    raise ValueError(f"{path}: get_config() returned {type(config).__name__}, not a ConfigDict")
  config.lock()
  return apply_overrides(config, overrides)


def apply_overrides(config: ml_collections.ConfigDict, overrides: Iterable[str]
                    ) -> ml_collections.ConfigDict:
  """Sets each "a.b=v" override in place (typed as the existing field) and returns `config`.

  Raises:
    ValueError: a malformed override, unknown fields (all of them named, with the known
      ones), or a value that does not parse as the field's type.
  """
  parsed = []
  for item in overrides:
    name, sep, text = item.partition("=")
    if not sep or not name:
      raise ValueError(f"config override {item!r}: expected field=value, e.g. model.width=32")
    parsed.append((name.strip(), text))
  known = flat_fields(config)
  unknown = [name for name, _ in parsed if name not in known]
  if unknown:
    raise ValueError(f"unknown config fields {unknown}; known: {', '.join(known)}")
  for name, text in parsed:
    *groups, field = name.split(".")
    node = config
    for group in groups:
      node = node[group]
    node[field] = parse_value(name, known[name], text)
  return config


def parse_value(name: str, default: Any, text: str) -> Any:
  """`text` parsed to the type of the field `name`'s current value `default`.

  Raises:
    ValueError: naming the field, its type and the text.
  """
  kind = type(default)
  try:
    if kind is bool:
      low = text.strip().lower()
      if low not in _TRUE + _FALSE:
        raise ValueError
      return low in _TRUE
    if kind is int:
      return int(text)
    if kind is float:
      return float(text)
    if default is None:
      return None if text in ("", "None", "none") else text
    if kind is str:
      return text
  except ValueError:
    pass
  else:
    raise ValueError(f"config field {name} is of type {kind.__name__}: it cannot be set "
                     "from the command line")
  raise ValueError(f"config field {name} is of type {kind.__name__} (default {default!r}): "
                   f"cannot parse {text!r}")


def flat_fields(config: ml_collections.ConfigDict, prefix: str = "") -> dict[str, Any]:
  """{"a.b": value} for every leaf field of `config` (ConfigDict order: sorted by name)."""
  out = {}
  for key, value in config.items():
    if isinstance(value, ml_collections.ConfigDict):
      out.update(flat_fields(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = value
  return out


def split_config_flags(argv: Sequence[str]) -> tuple[list[str], list[str]]:
  """(rest, overrides): `argv` without its config flags, and their "a.b=v" in order.

  A flag is `--config.a.b=v`, or `--config.a.b v` (the next argument is the value, whatever
  it is). A last `--config.a.b` without a value stays in `rest`, where it is the last item.
  """
  rest, overrides, i = [], [], 0
  while i < len(argv):
    arg = argv[i]
    if arg.startswith("--config.") and ("=" in arg or i + 1 < len(argv)):
      item = arg[len("--config."):]
      if "=" not in item:
        i += 1
        item = f"{item}={argv[i]}"
      overrides.append(item)
    else:
      rest.append(arg)
    i += 1
  return rest, overrides


def parse_config_flags(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None
                       ) -> tuple[argparse.Namespace, list[str]]:
  """(args, overrides): `parser`'s flags, and the "a.b=v" of every --config.a.b=v /
  --config.a.b v among `argv` (default sys.argv[1:]); `args.overrides` holds them too.

  Raises:
    what `parser.error` raises (a `srino_jax.cli.make_parser` parser: UsageError, one line,
      exit 2) for the first argument neither flag nor override ("unrecognized argument
      'x'"), or a last --config.<field> without a value; SystemExit for --help (status 0).
  """
  args, unknown = parser.parse_known_args(argv)
  rest, overrides = split_config_flags(unknown)
  if rest:  # only the last can be a --config.<field>: one without its value
    if rest[0].startswith("--config."):
      parser.error(f"{rest[0]} needs a value")
    parser.error(f"unrecognized argument {rest[0]!r}")
  args.overrides = overrides
  return args, overrides


class ConfigFlagsParser:
  """What `srino_jax.cli.run` needs of a parser: `parse_args(argv)`, here with the
  --config.* overrides kept in `args.overrides` (`parse_config_flags`).

  Attributes:
    parser: the script's own flags (`srino_jax.cli.make_parser`).
  """

  def __init__(self, parser: argparse.ArgumentParser):
    self.parser = parser

  def parse_args(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
    return parse_config_flags(self.parser, argv)[0]
