"""The spread of K samples calibrated on a run's validation data, stored in the run.

  <workdir>/calibration.json   {"settings": {stage, weights, which, num_samples, steps, eta},
                                "scales": {"0.68": c, "0.9": c, "0.95": c}, "n": ...}

A scale c of level q makes c x (the per-pixel std of the K samples) an error bar that held
the errors of the validation data at q (`metrics.uncertainty.conformal_scale`). It is only
valid for the sampler it was measured with: `scale_for` returns None for any other. The
validation data are the run's (`datasets.validation_set`: the validation parts of the real
held-out blocks, or the validation file); no test data, and never the WorldView-2 scene.
"""

from __future__ import annotations

import json
import os

import jax
import numpy as np

from srino_jax.atomic import write_text_atomic
from srino_jax.metrics.uncertainty import LEVELS, conformal_scale
from srino_jax.training import datasets
from srino_jax.training.fuser import fuse_scenes, make_fuser
from srino_jax.training.run import Run

__all__ = ["CALIBRATION_FILE", "calibrate", "settings_of", "save_calibration",
           "load_calibration", "scale_for"]

CALIBRATION_FILE = "calibration.json"


def settings_of(run: Run, num_samples: int, steps: int | None, eta: float | None) -> dict:
  """What a calibration is valid for: the stage, weights, checkpoint and sampler."""
  return {"stage": run.stage, "weights": run.default_weights, "which": run.which,
          "num_samples": int(num_samples),
          "steps": int(run.sampling.steps if steps is None else steps),
          "eta": float(run.sampling.eta if eta is None else eta)}


def calibrate(run: Run, params, num_samples: int, steps: int | None = None,
              eta: float | None = None, data: dict | None = None, seed: int = 0) -> dict:
  """Conformal scales of the K-sample spread at `LEVELS`, on the validation data.

  Args:
    run: the run (its stage, weights and default sampler).
    params: the parameters that fuse (`run.params()`).
    num_samples: K (> 1: one sample has no spread).
    steps, eta: the sampler (default: the run's).
    data: the validation scenes (default: `datasets.validation_set(run)`, what the run
      validates on).
    seed: the fusion key.

  Returns:
    {"settings": `settings_of(...)`, "scales": {str(level): c}, "n": pixel-bands used}.
  """
  if num_samples < 2:
    raise ValueError(f"calibrating a spread needs K >= 2 samples, got {num_samples}")
  data = datasets.validation_set(run) if data is None else data
  fuse = make_fuser(run, params, num_samples, steps, eta)
  mean, std = fuse_scenes(fuse, data, jax.random.key(seed))
  err = mean - np.asarray(data["gt"], np.float32)
  return {"settings": settings_of(run, num_samples, steps, eta),
          "scales": {f"{q:g}": conformal_scale(err, std, q) for q in LEVELS},
          "n": int(err.size)}


def save_calibration(run: Run, calibration: dict) -> str:
  """Writes `<workdir>/calibration.json` (atomically); returns its path."""
  path = os.path.join(run.workdir, CALIBRATION_FILE)
  write_text_atomic(path, json.dumps(calibration, indent=2, sort_keys=True) + "\n")
  return path


def load_calibration(run: Run) -> dict | None:
  """The run's calibration, None when it has none (or an unreadable file)."""
  path = os.path.join(run.workdir, CALIBRATION_FILE) if run.workdir else ""
  if not path or not os.path.isfile(path):
    return None
  try:
    with open(path, encoding="utf-8") as f:
      return json.load(f)
  except (OSError, ValueError):
    return None


def scale_for(run: Run, level: float, num_samples: int, steps: int | None = None,
              eta: float | None = None) -> float | None:
  """The stored scale of `level` for exactly this sampler, else None."""
  calibration = load_calibration(run)
  if calibration is None or calibration.get("settings") != settings_of(run, num_samples,
                                                                       steps, eta):
    return None
  return calibration["scales"].get(f"{level:g}")
