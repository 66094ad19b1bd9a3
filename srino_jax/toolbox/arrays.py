"""Checks of image arrays at the library's boundaries: rank, band count, dtype, finiteness.

Images are H x W x C (PAN H x W x 1, an H x W array is taken as one band), stacks
N x H x W x C; the toolbox operators, baselines and indices work on them in float64, as
the MATLAB toolbox does (it converts with `double`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["as_image", "as_pan", "as_stack", "as_ms_pan", "check_same_shape"]


def _finite_float(arr: np.ndarray, name: str) -> np.ndarray:
  if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
    raise ValueError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
  arr = arr.astype(np.float64, copy=False)
  if not np.all(np.isfinite(arr)):
    raise ValueError(f"{name}: contains NaN or Inf")
  return arr


def as_image(img, name: str, bands: int | None = None) -> np.ndarray:
  """Returns `img` as an (H, W, C) float64 array, checking rank, band count and finiteness.

  Args:
    img: (H, W, C) array (an (H, W) array is taken as one band).
    name: name used in error messages.
    bands: expected band count C, or None for any.

  Raises:
    ValueError: naming `name` when the rank, band count, dtype or finiteness is wrong.
  """
  arr = np.asarray(img)
  if arr.ndim == 2:
    arr = arr[..., None]
  if arr.ndim != 3:
    raise ValueError(f"{name}: expected an H x W x C image, got shape {arr.shape}")
  if bands is not None and arr.shape[-1] != bands:
    raise ValueError(f"{name}: has {arr.shape[-1]} bands, expected {bands}")
  return _finite_float(arr, name)


def as_pan(pan, name: str = "pan") -> np.ndarray:
  """Returns a PAN image as (H, W, 1) float64; accepts (H, W) or (H, W, 1)."""
  return as_image(pan, name, bands=1)


def as_stack(stack, name: str, bands: int | None = None) -> np.ndarray:
  """Returns an (N, H, W, C) float64 stack; an (N, H, W) stack is taken as one band."""
  arr = np.asarray(stack)
  if arr.ndim == 3 and bands in (None, 1):
    arr = arr[..., None]
  if arr.ndim != 4:
    raise ValueError(f"{name}: expected an N x H x W x C stack, got shape {arr.shape}")
  if bands is not None and arr.shape[-1] != bands:
    raise ValueError(f"{name}: has {arr.shape[-1]} bands, expected {bands}")
  return _finite_float(arr, name)


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
  """Raises ValueError when two images differ in shape."""
  if a.shape != b.shape:
    raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape}; "
                     "they must be equal")


def as_ms_pan(ms, pan, bands: int | None, ratio: int, ms_name: str = "ms",
              pan_name: str = "pan") -> tuple[np.ndarray, np.ndarray]:
  """Checks an (h, w, C) MS image and its (h r, w r, 1) PAN; returns both as float64.

  Raises:
    ValueError: naming the array when a rank, band count or value is wrong, or when the
      PAN is not `ratio` times the MS size.
  """
  ms = as_image(ms, ms_name, bands=bands)
  pan = as_pan(pan, pan_name)
  h, w = ms.shape[:2]
  if pan.shape[:2] != (h * ratio, w * ratio):
    raise ValueError(f"{pan_name}: shape {pan.shape[:2]} is not ratio {ratio} times the "
                     f"{ms_name} size {(h, w)}")
  return ms, pan
