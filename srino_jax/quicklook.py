"""RGB quick-looks: PAN, EXP, SRINO (and GT) side by side, with one shared percentile stretch."""

from __future__ import annotations

import os

import numpy as np

from srino_jax import sensors
from srino_jax.atomic import atomic_output

__all__ = ["stretch", "save_quicklooks"]


def stretch(img: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
  """Maps [low, high] per channel to [0, 255] uint8 (clipped)."""
  out = (img - low) / np.maximum(high - low, 1e-12)
  return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def save_quicklooks(out_dir: str, data: dict[str, np.ndarray], fused: np.ndarray, sensor,
                    percentiles=(2.0, 98.0), prefix: str = "scene") -> list[str]:
  """Writes `<out_dir>/<prefix>_<i>.png` per scene: PAN | EXP | SRINO [| GT].

  Args:
    out_dir: folder, created if needed.
    data: NHWC inputs (lms, pan, gt when known), any common scale.
    fused: (N, H, W, C) in the same scale.
    sensor: gives the RGB band indices.
    percentiles: the stretch, computed per band on the GT (else on EXP) and applied to all
      panels so that their colours compare.

  Returns:
    The paths written.
  """
  from PIL import Image
  rgb = list(sensors.get_sensor(sensor).rgb)
  os.makedirs(out_dir, exist_ok=True)
  paths = []
  for i in range(fused.shape[0]):
    ref = data["gt"][i] if "gt" in data else data["lms"][i]
    lo, hi = np.percentile(ref[..., rgb], percentiles, axis=(0, 1))
    pan = data["pan"][i][..., 0]
    plo, phi = np.percentile(pan, percentiles)
    panels = [np.repeat(stretch(pan, plo, phi)[..., None], 3, -1),
              stretch(data["lms"][i][..., rgb], lo, hi), stretch(fused[i][..., rgb], lo, hi)]
    if "gt" in data:
      panels.append(stretch(data["gt"][i][..., rgb], lo, hi))
    gap = np.full((pan.shape[0], 4, 3), 255, np.uint8)
    row = np.concatenate([p for panel in panels for p in (panel, gap)][:-1], axis=1)
    path = os.path.join(out_dir, f"{prefix}_{i:03d}.png")
    with atomic_output(path) as tmp:  # never a half-written PNG under the name
      Image.fromarray(row).save(tmp, format="PNG")
    paths.append(path)
  return paths
