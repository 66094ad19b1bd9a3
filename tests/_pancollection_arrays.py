"""Random PanCollection sets for the reader and writer tests."""

import numpy as np


def arrays_dn(n, bands, size, max_value, seed=0, gt=True):
  """Random NHWC digital-number arrays of a consistent PanCollection set."""
  rng = np.random.default_rng(seed)
  r = 4
  out = {
      "ms": rng.uniform(0, max_value, (n, size // r, size // r, bands)),
      "lms": rng.uniform(0, max_value, (n, size, size, bands)),
      "pan": rng.uniform(0, max_value, (n, size, size, 1)),
  }
  if gt:
    out["gt"] = rng.uniform(0, max_value, (n, size, size, bands))
  return {k: np.round(v).astype(np.float32) for k, v in out.items()}
