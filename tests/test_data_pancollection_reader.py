"""PanCollection HDF5 I/O: exact round trips, layout, scale detection, read validation errors
(the writer's refusals: test_data_pancollection_writer.py)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from srino_jax.data.pancollection import (PanCollectionFile, read_pancollection,
                                          write_pancollection)
from srino_jax.sensors import get_sensor
from _pancollection_arrays import arrays_dn as _arrays_dn




@pytest.mark.parametrize("sensor_name", ["wv3", "qb", "gf2"])
def test_round_trip_exact_against_raw_h5(tmp_path, sensor_name):
  sensor = get_sensor(sensor_name)
  arrays = _arrays_dn(3, sensor.bands, 16, sensor.max_value, seed=1)
  path = write_pancollection(tmp_path / "a.h5", arrays, sensor, units="dn")
  data = read_pancollection(path, sensor)
  assert data.scale == sensor.max_value and not data.already_scaled
  with h5py.File(path, "r") as f:
    assert set(f.keys()) == {"gt", "ms", "lms", "pan"}
    for key, value in arrays.items():
      raw = f[key][()]
      # Stored NCHW, digital numbers, exactly what was given.
      np.testing.assert_array_equal(raw, np.transpose(value, (0, 3, 1, 2)))
      # Element-wise NCHW -> NHWC: data[n, h, w, c] == raw[n, c, h, w] / max.
      n, h, w, c = 2, 3, 1, value.shape[-1] - 1
      assert data[key][n, h, w, c] == np.float32(raw[n, c, h, w]) / np.float32(sensor.max_value)
      np.testing.assert_array_equal(
          data[key], np.transpose(raw, (0, 2, 3, 1)).astype(np.float32)
          / np.float32(sensor.max_value))
      assert data[key].dtype == np.float32


def test_unit_write_multiplies_by_max_and_reads_back(tmp_path):
  sensor = get_sensor("wv3")
  arrays = {k: v / sensor.max_value for k, v in _arrays_dn(2, 8, 16, 2047.0).items()}
  path = write_pancollection(tmp_path / "u.h5", arrays, sensor)  # units="unit" default
  with h5py.File(path, "r") as f:
    np.testing.assert_allclose(f["pan"][()], np.transpose(arrays["pan"], (0, 3, 1, 2)) * 2047.0,
                               rtol=1e-6)
    assert f.attrs["sensor"] == "WV3"
  data = read_pancollection(path, sensor)
  for k in arrays:
    np.testing.assert_allclose(data[k], arrays[k], rtol=1e-6, atol=1e-7)


def test_already_scaled_file_detected(tmp_path):
  sensor = get_sensor("qb")
  dn = _arrays_dn(2, 4, 16, 2047.0)
  scaled = {k: v / 2047.0 for k, v in dn.items()}
  path = write_pancollection(tmp_path / "s.h5", scaled, sensor, units="dn")  # stored in [0, 1]
  data = read_pancollection(path, sensor)
  assert data.already_scaled and data.scale == 1.0
  np.testing.assert_array_equal(data["ms"], scaled["ms"].astype(np.float32))
  with PanCollectionFile(path, sensor) as f:
    assert f.already_scaled and f.scale == 1.0
  # A DN file is not taken as scaled, and an explicit scale wins over detection.
  path_dn = write_pancollection(tmp_path / "d.h5", dn, sensor, units="dn")
  assert not read_pancollection(path_dn, sensor).already_scaled
  forced = read_pancollection(path_dn, sensor, scale=1.0)
  np.testing.assert_array_equal(forced["pan"], dn["pan"])


def test_lazy_file_reads_in_any_order(tmp_path):
  sensor = get_sensor("wv2")
  arrays = _arrays_dn(6, 8, 16, 2047.0, seed=3)
  path = write_pancollection(tmp_path / "l.h5", arrays, sensor, units="dn")
  full = read_pancollection(path, sensor)
  with PanCollectionFile(path, sensor) as f:
    assert (f.num_examples, f.has_gt, f.bands, f.pan_size, f.ms_size) == (6, True, 8, (16, 16),
                                                                          (4, 4))
    idx = [4, 1, 4, 0]  # unsorted, with a repeat: h5py needs sorted unique, we reorder
    part = f.read(idx)
    for k in full:
      np.testing.assert_array_equal(part[k], full[k][idx])
    win = f.read_window(5, 4, 8, 8)
    np.testing.assert_array_equal(win["pan"][0], full["pan"][5, 4:12, 8:16])
    np.testing.assert_array_equal(win["ms"][0], full["ms"][5, 1:3, 2:4])
    with pytest.raises(ValueError, match="not aligned"):
      f.read_window(0, 2, 0, 8)
    with pytest.raises(IndexError):
      f.read([6])
  assert len(read_pancollection(path, sensor, limit=2)["gt"]) == 2


def test_full_resolution_and_sr_files(tmp_path):
  sensor = get_sensor("gf2")
  arrays = _arrays_dn(2, 4, 16, 1023.0, gt=False)
  path = write_pancollection(tmp_path / "full.h5", arrays, sensor, units="dn")
  with PanCollectionFile(path, sensor) as f:
    assert not f.has_gt and f.keys == ("ms", "lms", "pan")
  sr = {"sr": arrays["lms"] / 1023.0}
  out = write_pancollection(tmp_path / "sr.h5", sr, sensor)
  np.testing.assert_allclose(read_pancollection(out, sensor)["sr"], sr["sr"], rtol=1e-6)


def _write_raw(path, datasets):
  with h5py.File(path, "w") as f:
    for k, v in datasets.items():
      f.create_dataset(k, data=v)


@pytest.mark.parametrize("name,message", [
    ("missing_lms", r"missing key.*'lms'"),
    ("bands_vs_sensor", r"'ms' has 4 bands, but sensor WV3 has 8"),
    ("pan_size", r"'pan'.*not ratio 4 times"),
    ("nan", r"'pan' contains"),
    ("empty", r"empty file"),
    ("rank", r"'gt' has rank 3"),
])
def test_read_validation(tmp_path, name, message):
  """Files written by other tools (NCHW float64, PanCollection style) are checked on read."""
  rng = np.random.default_rng(0)
  good = {"gt": rng.uniform(0, 2047, (2, 8, 16, 16)), "ms": rng.uniform(0, 2047, (2, 8, 4, 4)),
          "lms": rng.uniform(0, 2047, (2, 8, 16, 16)), "pan": rng.uniform(0, 2047, (2, 1, 16, 16))}
  bad = dict(good)
  if name == "missing_lms":
    del bad["lms"]
  elif name == "bands_vs_sensor":
    bad = {"ms": good["ms"][:, :4], "lms": good["lms"][:, :4], "pan": good["pan"]}
  elif name == "pan_size":
    bad["pan"] = good["pan"][:, :, :12, :12]
    bad["lms"] = good["lms"][:, :, :12, :12]
    bad["gt"] = good["gt"][:, :, :12, :12]
  elif name == "nan":
    bad["pan"] = good["pan"].copy()
    bad["pan"][1, 0, 5, 5] = np.nan
  elif name == "empty":
    bad = {}
  elif name == "rank":
    bad["gt"] = good["gt"][0]
  path = tmp_path / f"{name}.h5"
  _write_raw(path, bad)
  with pytest.raises(ValueError, match=message) as info:
    read_pancollection(path, "wv3")
  assert f"{name}.h5" in str(info.value)
  _write_raw(tmp_path / "good.h5", good)  # the same file, unmodified, reads fine
  data = read_pancollection(tmp_path / "good.h5", "wv3")
  np.testing.assert_allclose(data["gt"], np.transpose(good["gt"], (0, 2, 3, 1)) / 2047.0,
                             rtol=1e-6)


def test_missing_file_named(tmp_path):
  missing = tmp_path / "nope.h5"
  with pytest.raises(FileNotFoundError, match="nope.h5"):
    read_pancollection(missing, "wv3")
  with pytest.raises(FileNotFoundError, match="nope.h5"):
    PanCollectionFile(missing, "wv3")
  (tmp_path / "junk.h5").write_bytes(b"not hdf5")
  with pytest.raises(ValueError, match="junk.h5"):
    read_pancollection(tmp_path / "junk.h5", "wv3")
