"""Helpers of the reliability tests: run an entry point in process, check its one line."""

from __future__ import annotations

import pathlib

from srino_jax import evaluate
from srino_jax.data import make_dataset
from srino_jax.synthetic import generate as synthetic

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAINS = {"evaluate": evaluate.main, "synthetic": synthetic.main,
         "make_dataset": make_dataset.main}
# A tiny synthetic set: 2 training patches and one 32 x 32 test scene per resolution.
SYN = ["--sensor", "qb", "--train", "2", "--valid", "0", "--test", "1", "--size", "32",
       "--patch", "16", "--no-progress"]


def listing(folder: pathlib.Path) -> list[str]:
  """Every file under `folder` (relative paths, hidden temp files included)."""
  return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def run(tool, argv, capsys):
  """(exit code, stdout, stderr) of `main(argv)` of `tool`."""
  capsys.readouterr()
  code = MAINS[tool]([str(a) for a in argv])
  out, err = capsys.readouterr()
  return code, out, err


def one_error(err: str, *needles: str) -> str:
  """Asserts `err` is one line `error: ...` holding every needle (and no traceback)."""
  lines = err.strip().splitlines()
  assert len(lines) == 1 and lines[0].startswith("error: "), err
  assert "Traceback" not in err
  for needle in needles:
    assert needle in lines[0], (needle, lines[0])
  return lines[0]
