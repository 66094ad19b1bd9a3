"""Shared test setup: CPU JAX, paths to the optional real scene."""

import os
import pathlib

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import tempfile  # noqa: E402

import jax  # noqa: E402
import pytest  # noqa: E402

# Many tests build the same jitted steps again (each training run makes its own closures):
# a persistent compilation cache turns those recompiles into disk reads.
jax.config.update("jax_compilation_cache_dir", tempfile.mkdtemp(prefix="srino-jax-cache-"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

REPO = pathlib.Path(__file__).resolve().parents[1]
REAL_WV2 = REPO.parent / "shared" / "realdata" / "pypansharpening_imgWV2.mat"


@pytest.fixture(scope="session")
def real_wv2_path():
  """Path of the real WorldView-2 scene (evaluation only); skips where it is absent."""
  path = pathlib.Path(os.environ.get("SRINO_REAL_WV2", REAL_WV2))
  if not path.exists():
    pytest.skip(f"real WV2 scene not found at {path} (set SRINO_REAL_WV2 to use it)")
  return path
