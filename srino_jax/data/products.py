"""Products: the PAN and MS images of one acquisition (.mat files), their Wald reduction
and crops. GeoTIFF pairs are read by `srino_jax.data.geotiff` into the same dict layout.

A product is a dict of images in digital numbers (float64): "ms" (h, w, C), "pan" (H, W, 1)
with H = r h, optionally "ms_lr" / "gt" (as some toolbox .mat files carry), "sensor" (name),
"ratio" and "bits" (the product's bit depth, the .mat's `L`: its max is 2^bits - 1, which
overrides the sensor table's; `scene_sensor` returns the sensor with that max).
`reduce_scene` makes the reduced-resolution case of Wald's protocol, where the
original MS is the ground truth; `full_scene` the full-resolution case (no ground truth).
(The function names keep their historical "scene"; `srino_jax.scene` is the whole-scene
GeoTIFF fusion tool.)
"""

from __future__ import annotations

import pathlib

import numpy as np
import scipy.io

from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.arrays import as_image
from srino_jax.toolbox.wald import wald_degrade
from srino_jax.sensors import Sensor, get_sensor

__all__ = ["read_mat_scene", "scene_sensor", "reduce_scene", "full_scene", "crop_scene"]

# .mat variable -> scene key (the toolbox's names).
_MAT_IMAGES = {"I_MS": "ms", "I_PAN": "pan", "I_MS_LR": "ms_lr", "I_GT": "gt"}


def _load_mat(path: pathlib.Path) -> dict:
  """Variables of a .mat file; v7.3 files (HDF5) through h5py."""
  try:
    return scipy.io.loadmat(path)
  except NotImplementedError:  # MATLAB v7.3: HDF5 with column-major (reversed) axes
    import h5py
    out = {}
    with h5py.File(path, "r") as f:
      for k, v in f.items():
        if isinstance(v, h5py.Dataset):
          arr = v[()]
          out[k] = arr.T if arr.ndim >= 2 else arr
      if "sensor" in out and out["sensor"].dtype.kind in "ui":
        out["sensor"] = np.array(["".join(map(chr, out["sensor"].ravel()))])
    return out
  except ValueError as e:
    raise ValueError(f"{path}: not a readable .mat file ({e})") from None


def read_mat_scene(path) -> dict:
  """Reads a toolbox-style .mat scene.

  Args:
    path: .mat file with I_MS (h, w, C), I_PAN (H, W) and optionally I_MS_LR, I_GT,
      sensor (string), ratio, L (bit depth). A file with I_MS_LR but no I_MS (Z-PNN's
      full-resolution examples) uses I_MS_LR as the MS image.

  Returns:
    dict with "ms" (h, w, C) and "pan" (H, W, 1) float64 digital numbers, "ms_lr" / "gt" when
    present, "sensor" (str), "ratio" (int) and "bits" (int, from L) when present.

  Raises:
    FileNotFoundError: no such file.
    ValueError: naming the file and variable: I_MS / I_PAN missing, wrong rank, NaN/Inf, PAN
      not ratio times the MS size.
  """
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f".mat scene not found: {path}")
  raw = _load_mat(path)
  scene: dict = {}
  if "I_MS" not in raw and "I_MS_LR" in raw:  # only the original low-resolution MS is stored
    raw = dict(raw, I_MS=raw.pop("I_MS_LR"))
  for var in ("I_MS", "I_PAN"):
    if var not in raw:
      found = sorted(k for k in raw if not k.startswith("__"))
      raise ValueError(f"{path}: variable '{var}' missing (found {found})")
  for var, key in _MAT_IMAGES.items():
    if var in raw:
      scene[key] = as_image(raw[var], f"{path}: {var}", bands=1 if key == "pan" else None)
  if "sensor" in raw:
    scene["sensor"] = str(np.asarray(raw["sensor"]).ravel()[0]).strip()
  if "ratio" in raw:
    scene["ratio"] = int(np.asarray(raw["ratio"]).ravel()[0])
  if "L" in raw:
    bits = np.asarray(raw["L"]).ravel()
    if bits.size != 1 or not 1 <= float(bits[0]) <= 32 or float(bits[0]) % 1:
      raise ValueError(f"{path}: variable 'L' (bit depth) must be one integer in [1, 32], "
                       f"got {bits.tolist()}")
    scene["bits"] = int(bits[0])
  ratio = scene.get("ratio", 4)
  h, w = scene["ms"].shape[:2]
  if scene["pan"].shape[:2] != (h * ratio, w * ratio):
    raise ValueError(f"{path}: I_PAN is {scene['pan'].shape[:2]}, not ratio {ratio} times "
                     f"the I_MS size {(h, w)}")
  if scene["ms"].shape[-1] < 2:
    raise ValueError(f"{path}: I_MS has {scene['ms'].shape[-1]} band(s)")
  return scene


def scene_sensor(scene: dict, sensor: str | Sensor | None = None,
                 bits: int | None = None) -> Sensor:
  """The sensor of a scene with the scene's own maximum.

  Args:
    scene: a scene dict (`read_mat_scene`); its "sensor" and "bits" are used when present.
    sensor: sensor name or `Sensor`; overrides the scene's "sensor".
    bits: bit depth; overrides the scene's "bits" (e.g. a command-line flag).

  Returns:
    the `Sensor` whose max_value is 2^bits - 1 when a bit depth is known, else the table's.

  Raises:
    ValueError: no sensor given and the scene names none.
  """
  name = sensor if sensor is not None else scene.get("sensor")
  if name is None:
    raise ValueError("the scene names no sensor: pass one (e.g. --sensor)")
  return get_sensor(name, bits=bits if bits is not None else scene.get("bits"))


def crop_scene(scene: dict, multiple: int, ratio: int = 4) -> dict:
  """Crops ms/pan (and gt) so the MS size is a multiple of `multiple` (top-left kept)."""
  h, w = scene["ms"].shape[:2]
  hc, wc = h - h % multiple, w - w % multiple
  if hc == 0 or wc == 0:
    raise ValueError(f"scene MS size {(h, w)} is smaller than {multiple}")
  out = dict(scene)
  out["ms"] = scene["ms"][:hc, :wc]
  out["pan"] = scene["pan"][:hc * ratio, :wc * ratio]
  out.pop("ms_lr", None)  # no longer matches the crop
  if "gt" in scene and scene["gt"].shape[:2] == (h * ratio, w * ratio):
    out["gt"] = scene["gt"][:hc * ratio, :wc * ratio]
  return out


def reduce_scene(scene: dict, sensor: str | Sensor, ratio: int = 4,
                 pan_method: str = "imresize") -> dict[str, np.ndarray]:
  """Wald reduced-resolution case of a full-resolution scene.

  Args:
    scene: dict with "ms" (h, w, C) and "pan" (r h, r w, 1) in digital numbers; h, w
      multiples of r.
    sensor: sensor name or `Sensor` (MTF gains).
    ratio: resolution ratio r.
    pan_method: PAN reduction of `wald_degrade` ("imresize" or "mtf").

  Returns:
    {"gt": ms (h, w, C), "ms": MTF-filtered, decimated ms (h/r, w/r, C),
     "lms": interp23tap of that (h, w, C), "pan": reduced PAN (h, w, 1)}, float64 DN.
  """
  sensor = get_sensor(sensor)
  ms_lr, pan_lr = wald_degrade(scene["ms"], scene["pan"], sensor, ratio, pan_method=pan_method)
  gt = as_image(scene["ms"], "ms")
  return {"gt": gt, "ms": ms_lr, "lms": interp23tap(ms_lr, ratio), "pan": pan_lr}


def full_scene(scene: dict, ratio: int = 4) -> dict[str, np.ndarray]:
  """Full-resolution case: {"ms" (h, w, C), "lms" interp23tap(ms) (r h, r w, C), "pan"}."""
  ms = as_image(scene["ms"], "ms")
  return {"ms": ms, "lms": interp23tap(ms, ratio), "pan": as_image(scene["pan"], "pan", 1)}
