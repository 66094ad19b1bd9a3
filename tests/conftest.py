"""Shared test setup: CPU JAX, paths to the optional real scene."""

import os
import pathlib

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pytest  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[1]
REAL_WV2 = REPO.parent / "shared" / "realdata" / "pypansharpening_imgWV2.mat"


@pytest.fixture(scope="session")
def real_wv2_path():
  """Path of the real WorldView-2 scene (evaluation only); skips where it is absent."""
  path = pathlib.Path(os.environ.get("SRINO_REAL_WV2", REAL_WV2))
  if not path.exists():
    pytest.skip(f"real WV2 scene not found at {path} (set SRINO_REAL_WV2 to use it)")
  return path
