"""data.pancollection.scale: one per-key scale detector for every reader (issue 11 item 4)."""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest

from srino_jax import evaluate
from srino_jax.data.pancollection import (SCALED_MAX, PanCollectionFile, ScaleWarning,
                                          detect_scale, read_pancollection, write_pancollection)
from srino_jax.errors import InputError
from srino_jax.sensors import get_sensor


def _set(n=2, bands=4, size=16, top=2047.0, seed=0):
  """NHWC digital numbers whose every key reaches exactly `top`."""
  rng = np.random.default_rng(seed)
  out = {"gt": rng.uniform(0, top, (n, size, size, bands)),
         "ms": rng.uniform(0, top, (n, size // 4, size // 4, bands)),
         "lms": rng.uniform(0, top, (n, size, size, bands)),
         "pan": rng.uniform(0, top, (n, size, size, 1))}
  for v in out.values():
    v.flat[0] = top
  return {k: np.round(v, 3) for k, v in out.items()}


def test_detect_scale_per_key_by_hand():
  qb = get_sensor("qb")
  info = detect_scale({"ms": 2047.0, "pan": 1500.0, "sr_std": 0.2}, qb, "f.h5")
  assert (info.scale, info.already_scaled) == (2047.0, False)
  assert info.maxima == {"ms": 2047.0, "pan": 1500.0}  # sr_std (a spread) is not judged
  info = detect_scale({"ms": 1.0, "pan": SCALED_MAX, "gt": 0.0}, qb, "f.h5")
  assert (info.scale, info.already_scaled) == (1.0, True)  # an all-zero key says nothing
  assert detect_scale({"ms": 300.0}, qb, "f.h5", max_value=255.0).scale == 255.0
  with pytest.raises(InputError) as err:
    detect_scale({"ms": 1800.0, "lms": 1790.0, "pan": 1.0}, qb, "mixed.h5")
  msg = str(err.value)
  assert "mixed.h5" in msg and "pan max 1" in msg and "ms max 1800" in msg
  assert "lms max 1790" in msg and isinstance(err.value, ValueError)


@pytest.mark.parametrize("top, warns", [(255.0, True), (512.0, True), (513.0, False),
                                        (2047.0, False)])
def test_dark_data_warning_threshold(top, warns):
  """<= 2^(bits-2) = 512 for an 11-bit sensor warns, naming both maxima and the flag."""
  with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    detect_scale({"ms": top, "pan": top - 1}, get_sensor("wv3"), "dark.h5")
  msgs = [str(w.message) for w in caught if issubclass(w.category, ScaleWarning)]
  assert len(msgs) == int(warns)
  if warns:
    assert f"{top:g}" in msgs[0] and "2047" in msgs[0] and "dark.h5" in msgs[0]
    bits = int(np.ceil(np.log2(top + 1)))
    assert f"--bits {bits}" in msgs[0] and f"max_value={2 ** bits - 1}" in msgs[0]


def test_mixed_scale_file_refused_by_every_reader(tmp_path):
  qb = get_sensor("qb")
  arrays = _set()
  arrays["pan"] = arrays["pan"] / 2047.0  # PAN alone already divided
  path = write_pancollection(tmp_path / "mixed.h5", arrays, qb, units="dn")
  for read in (lambda: PanCollectionFile(path, qb), lambda: read_pancollection(path, qb),
               lambda: evaluate.load_scenes(path, qb)):
    with pytest.raises(InputError, match=r"mixed.h5: keys disagree.*pan max 1\b.*gt max 2047"):
      read()
  # An explicit scale skips the detection (the caller knows better).
  assert read_pancollection(path, qb, scale=2047.0).scale == 2047.0


def test_eight_bit_data_warn_and_max_value_override(tmp_path):
  qb = get_sensor("qb")
  arrays = _set(top=255.0)
  path = write_pancollection(tmp_path / "b8.h5", arrays, qb, units="dn")
  with pytest.warns(ScaleWarning, match=r"255 is far below the 11-bit maximum 2047"):
    data = read_pancollection(path, qb)
  assert data.scale == 2047.0
  with warnings.catch_warnings():
    warnings.simplefilter("error")  # no warning with the right bit depth
    data = read_pancollection(path, qb, max_value=255.0)
    with PanCollectionFile(path, qb, max_value=255.0) as f:
      lazy = f.read([1])
  assert data.scale == 255.0 and data["pan"].max() == np.float32(1.0)
  np.testing.assert_array_equal(data["ms"], (arrays["ms"].astype(np.float32)
                                             / np.float32(255.0)))
  np.testing.assert_array_equal(lazy["gt"][0], data["gt"][1])


def test_evaluate_rescales_an_all_divided_file_only(tmp_path):
  qb = get_sensor("qb")
  arrays = _set(top=1800.0)
  with h5py.File(tmp_path / "u.h5", "w") as f:
    for k, v in arrays.items():
      f[k] = np.transpose(v, (0, 3, 1, 2)) / 2047.0
  scenes, notes = evaluate.load_scenes(tmp_path / "u.h5", qb)
  np.testing.assert_allclose(scenes["gt"], arrays["gt"], rtol=1e-12)
  assert len(notes) == 1 and "multiplied by 2047" in notes[0]
