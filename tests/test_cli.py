"""srino_jax.cli.run: --debug shows the traceback of an expected error, a bug prints its own."""

from __future__ import annotations

from srino_jax import cli

from _reliability import run as _run


def test_debug_shows_the_traceback(tmp_path, capsys):
  code, _, err = _run("evaluate", ["--input", tmp_path / "absent.h5", "--sensor", "qb",
                                   "--debug"], capsys)
  assert code == 3
  assert "Traceback" in err and err.strip().splitlines()[-1].startswith("error: ")


def test_a_bug_prints_its_traceback(capsys):
  parser = cli.make_parser("prog", "test")
  code = cli.run(lambda args: [][1], parser, [])
  assert code == 1 and "IndexError" in capsys.readouterr().err
