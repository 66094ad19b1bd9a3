"""Config files and typed command-line overrides (training.configfile); train.py's flags:
test_train.py."""

import pytest

from srino_jax import cli
from srino_jax.errors import UsageError
from srino_jax.training import configfile

from conftest import REPO

DEMO = str(REPO / "configs" / "demo.py")


def test_overrides_are_typed_as_their_fields():
  config = configfile.load_config(DEMO, [
      "model.width=16", "optim.learning_rate=2e-4", "optim.grad_clip=1", "sensor=qb",
      "model.condition_lms=false", "data.synthetic=Yes", "train.aux_steps=1_000"])
  assert config.model.width == 16 and isinstance(config.model.width, int)
  assert config.optim.learning_rate == 2e-4
  assert config.optim.grad_clip == 1.0 and isinstance(config.optim.grad_clip, float)
  assert config.sensor == "qb"
  assert config.model.condition_lms is False and config.data.synthetic is True
  assert config.train.aux_steps == 1000
  assert config.model.depth == 2  # untouched fields keep the file's values


@pytest.mark.parametrize("text,want", [("true", True), ("False", False), ("1", True),
                                       ("0", False), ("yes", True), ("off", False)])
def test_bool_parsing(text, want):
  assert configfile.parse_value("x.flag", False, text) is want
  assert configfile.parse_value("x.flag", True, text) is want


@pytest.mark.parametrize("override,match", [
    ("model.widht=16", "unknown config fields \\['model.widht'\\]"),
    ("modle.width=16", "unknown config fields"),
    ("model=3", "unknown config fields"),  # a group, not a field
    ("model.width=1.5", "model.width is of type int.*'1.5'"),
    ("model.width=", "model.width is of type int"),
    ("optim.learning_rate=fast", "optim.learning_rate is of type float"),
    ("model.condition_lms=maybe", "model.condition_lms is of type bool"),
    ("model.width", "expected field=value"),
])
def test_bad_overrides_are_named(override, match):
  with pytest.raises(ValueError, match=match):
    configfile.load_config(DEMO, [override])


def test_config_is_locked_and_files_are_checked(tmp_path):
  config = configfile.load_config(DEMO)
  with pytest.raises(AttributeError):
    config.model.widht = 3
  with pytest.raises(FileNotFoundError, match="nowhere.py"):
    configfile.load_config(str(tmp_path / "nowhere.py"))
  bad = tmp_path / "bad.py"
  bad.write_text("x = 1\n")
  with pytest.raises(ValueError, match="get_config"):
    configfile.load_config(str(bad))


@pytest.mark.parametrize("argv, rest, overrides", [
    (["--config.a.b=1", "--x", "--config.c", "two", "y"], ["--x", "y"], ["a.b=1", "c=two"]),
    (["--config.a", "--config.b=1"], [], ["a=--config.b=1"]),  # the next argument is the value
    (["--config.a=", "--config.s=x=y"], [], ["a=", "s=x=y"]),
    (["stray", "--config.a"], ["stray", "--config.a"], []),  # no value: left in rest, last
    ([], [], []),
])
def test_split_config_flags(argv, rest, overrides):
  assert configfile.split_config_flags(argv) == (rest, overrides)


def test_parse_config_flags_reports_the_first_problem_in_one_line():
  parser = cli.make_parser("prog", "A script.")
  parser.add_argument("--n", type=int, default=0)
  args, overrides = configfile.parse_config_flags(
      parser, ["--config.model.width", "8", "--n", "3", "--config.train.steps=2"])
  assert (args.n, args.overrides, overrides) == (3, ["model.width=8", "train.steps=2"],
                                                 ["model.width=8", "train.steps=2"])
  with pytest.raises(UsageError, match=r"^prog: unrecognized argument 'stray'$"):
    configfile.parse_config_flags(parser, ["stray", "--config.model.width"])
  with pytest.raises(UsageError, match=r"^prog: --config.model.width needs a value$"):
    configfile.parse_config_flags(parser, ["--n", "1", "--config.model.width"])
  assert configfile.ConfigFlagsParser(parser).parse_args(["--config.a=1"]).overrides == ["a=1"]
  assert cli.run(lambda a: 0 if a.overrides == ["a=1"] else 1, configfile.ConfigFlagsParser(
      parser), ["--config.a=1"]) == 0
