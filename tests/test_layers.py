"""The import layers of pyproject.toml's [tool.importlinter] contracts hold (issue 8).

`lint-imports` (import-linter's Python entry point) checks the real package; a throw-away
package with a deliberate upward import, an unlisted module and an absl import proves the
checks can fail. Every tests/test_*.py file is named after the module (or root script) it
tests, or is one of the few cross-cutting files listed in CROSS_CUTTING.
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


# ------------------------------------------------------------------ test files per module

# Test files that test no single module, with what they test instead. Keep this list short:
# a file about one module is named after it (tests/test_<pkg>_<mod>.py).
CROSS_CUTTING = {
    "test_layers": "the import contract and this naming contract",
    "test_readme": "the README's commands",
    "test_configs": "the configs/ folder",
    "test_reference_run": "training and fusion against the saved outputs of commit c10c0e0",
}


def _test_names(root: pathlib.Path) -> set[str]:
  """The test file stem each module of srino_jax and each root script may have.

  srino_jax/<pkg>/<mod>.py -> test_<pkg>_<mod>, srino_jax/<mod>.py -> test_<mod>, a package's
  __init__.py -> test_<pkg>, its __main__.py -> test_<pkg>_main, a leading "_" dropped
  (metrics/_inputs.py -> test_metrics_inputs); <script>.py at the root -> test_<script>.
  """
  names = set()
  pkg = root / "srino_jax"
  for path in pkg.rglob("*.py"):
    parts = list(path.relative_to(pkg).with_suffix("").parts)
    if parts[-1] == "__init__":
      parts.pop()
    elif parts[-1] == "__main__":
      parts[-1] = "main"
    if parts:
      names.add("test_" + "_".join(p.lstrip("_") for p in parts))
  names |= {f"test_{p.stem}" for p in root.glob("*.py")}
  return names


def _misnamed(root: pathlib.Path, allowed=CROSS_CUTTING) -> list[str]:
  """tests/test_*.py files named after no module, no root script and not in `allowed`."""
  names = _test_names(root) | set(allowed)
  return sorted(p.name for p in (root / "tests").glob("test_*.py") if p.stem not in names)


def test_every_test_file_is_named_after_what_it_tests():
  bad = _misnamed(ROOT)
  assert not bad, (f"test files named after no module of srino_jax, no root script and not "
                   f"in CROSS_CUTTING: {', '.join(bad)}; name a module's tests "
                   f"tests/test_<pkg>_<mod>.py (test_<mod>.py at the top level, "
                   f"test_<script>.py for a root script)")
  for stem in CROSS_CUTTING:  # the allow-list names files that exist and no module
    assert (ROOT / "tests" / f"{stem}.py").is_file(), stem
    assert stem not in _test_names(ROOT), stem


def test_a_misnamed_test_file_is_caught(tmp_path):
  for name in ("srino_jax/__init__.py", "srino_jax/noise.py", "srino_jax/data/__init__.py",
               "srino_jax/data/augment.py", "srino_jax/scene/__main__.py",
               "srino_jax/metrics/_inputs.py", "train.py", "tests/conftest.py",
               "tests/_helper.py", "tests/test_readme.py", "tests/test_noise.py",
               "tests/test_data.py", "tests/test_data_augment.py", "tests/test_scene_main.py",
               "tests/test_metrics_inputs.py", "tests/test_train.py", "tests/test_augment.py",
               "tests/test_reliability.py"):
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text("")
  assert _misnamed(tmp_path) == ["test_augment.py", "test_reliability.py"]
  assert _misnamed(tmp_path, {**CROSS_CUTTING, "test_augment": "", "test_reliability": ""}) == []
