"""The README's commands are a contract: CI runs exactly its test command."""

import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[1]


def _bash_blocks(text):
  return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_ci_runs_the_readme_test_command():
  readme = (REPO / "README.md").read_text()
  commands = [line for block in _bash_blocks(readme) for line in block.splitlines()
              if "pytest" in line]
  assert len(commands) == 1, commands
  # The README's command minus the venv creation, which .ci/run does in its own folder.
  install_and_test = commands[0].split("&& ", 2)[2]
  assert install_and_test.replace('"', "") in (REPO / ".ci" / "run").read_text().replace('"', "")
