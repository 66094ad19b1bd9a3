"""The import layers of pyproject.toml's [tool.importlinter] contracts hold (issue 8).

`lint-imports` (import-linter's Python entry point) checks the real package; a throw-away
package with a deliberate upward import, an unlisted module and an absl import proves the
checks can fail.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import pytest


ROOT = pathlib.Path(__file__).resolve().parents[1]
_BROKEN = re.compile(r"^(\S+) is not allowed to import (\S+):$", re.M)



def _lint(config, contract=None, cwd=None) -> tuple[int, str]:
  """Runs `lint-imports` in a subprocess (in process it leaves logging handlers on pytest's
  captured streams, which break later tests)."""
  exe = (shutil.which("lint-imports", path=str(pathlib.Path(sys.executable).parent))
         or shutil.which("lint-imports"))
  if exe is None:
    pytest.skip("lint-imports not installed (pip install -e '.[test]')")
  cmd = [exe, str(config), "--no-cache", "--no-logo"]
  if contract:
    cmd += ["--contract", contract]
  env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(cwd or ROOT),
                                                     os.environ.get("PYTHONPATH", "")]))
  proc = subprocess.run(cmd, cwd=cwd or ROOT, env=env, capture_output=True, text=True,
                        timeout=120)
  return proc.returncode, proc.stdout + proc.stderr


def test_no_module_below_training_imports_absl():
  code, out = _lint(ROOT / "pyproject.toml", "no-absl-below-training")
  assert code == 0, out
  assert "KEPT" in out


def test_layers_contract_kept():
  code, out = _lint(ROOT / "pyproject.toml", "layers")
  assert "is not exhaustive" not in out and "does not exist" not in out, out
  assert not _BROKEN.findall(out), out
  assert code == 0, out


def test_every_subpackage_is_in_the_contract():
  """exhaustive = true makes an unlisted module a failure; check the list ourselves too."""
  import tomllib

  conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
  layers = next(c for c in conf["contracts"] if c["id"] == "layers")
  assert layers["exhaustive"] is True and layers["containers"] == ["srino_jax"]
  listed = {name.strip(" ()") for layer in layers["layers"] for name in layer.split("|")}
  pkg = ROOT / "srino_jax"
  present = {p.stem for p in pkg.glob("*.py") if p.stem != "__init__"}
  present |= {p.parent.name for p in pkg.glob("*/__init__.py")}
  assert present <= listed, present - listed


def _package(tmp_path, files: dict[str, str]) -> pathlib.Path:
  pkg = tmp_path / "layerprobe"
  pkg.mkdir(parents=True)
  for name, text in {"__init__.py": "", **files}.items():
    (pkg / name).write_text(textwrap.dedent(text))
  config = tmp_path / "probe.toml"
  config.write_text(textwrap.dedent("""
      [tool.importlinter]
      root_package = "layerprobe"
      include_external_packages = true

      [[tool.importlinter.contracts]]
      id = "layers"
      name = "probe layers"
      type = "layers"
      containers = ["layerprobe"]
      exhaustive = true
      layers = ["high", "low | (optional)"]

      [[tool.importlinter.contracts]]
      id = "no-absl"
      name = "probe absl"
      type = "forbidden"
      source_modules = ["layerprobe.low"]
      forbidden_modules = ["absl"]
      """))
  return config


@pytest.mark.parametrize("low, extra, contract, message", [
    ("import layerprobe.high\n", {}, "layers",
     "layerprobe.low is not allowed to import layerprobe.high"),
    ("", {"extra.py": ""}, "layers", "- layerprobe.extra"),
    ("import absl.flags\n", {}, "no-absl", "layerprobe.low is not allowed to import absl"),
])
def test_a_bad_import_is_caught(tmp_path, low, extra, contract, message):
  config = _package(tmp_path, {"high.py": "import layerprobe.low\n", "low.py": low, **extra})
  code, out = _lint(config, contract, cwd=tmp_path)
  assert code != 0 and "BROKEN" in out and message in out, out
  # The same package without the bad import passes (the optional layer may be missing).
  ok = tmp_path / "ok"
  config = _package(ok, {"high.py": "import layerprobe.low\n", "low.py": ""})
  code, out = _lint(config, contract, cwd=ok)
  assert code == 0, out
