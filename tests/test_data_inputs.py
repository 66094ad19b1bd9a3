"""`read_input`: one read of a fusion input (.h5 or .mat) -> NHWC model units and the sensor
whose max_value converts them, bit for bit what inference's two readers gave."""

from __future__ import annotations

import contextlib
import pathlib

import numpy as np
import pytest
import scipy.io

import os

from srino_jax import sensors
from srino_jax.data.inputs import read_input
from srino_jax.data.pancollection import ScaleWarning, read_pancollection, write_pancollection
from srino_jax.data.products import full_scene, read_mat_scene, reduce_scene, scene_sensor

REALDATA = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


# The two readers `read_input` replaced (inference.input_sensor and read_inputs at c10c0e0),
# kept here as the reference implementation: two reads, the same result.
def _input_sensor(path: str, sensor, bits: int | None = None) -> sensors.Sensor:
  """The sensor of an input file with its maximum: 2^bits - 1 for `bits`, else the .mat
  scene's own bit depth (its `L`, e.g. 8 for the GeoEye-1 file), else the sensor table's.

  Model units are digital numbers / this maximum, on the way in (`_read_inputs`) and out.
  """
  sensor = sensors.get_sensor(sensor)
  if bits is None and str(path).endswith(".mat") and os.path.exists(path):
    return scene_sensor(read_mat_scene(path), sensor.name)
  return sensors.get_sensor(sensor.name, bits=bits) if bits is not None else sensor


def _read_inputs(path: str, sensor, reduce: bool = False, limit: int | None = None,
                bits: int | None = None) -> dict[str, np.ndarray]:
  """Reads scenes to fuse as NHWC float32 in model units (digital numbers / the maximum of
  `_input_sensor(path, sensor, bits)`).

  Args:
    path: a PanCollection .h5 (reduced resolution with `gt`, or full resolution) or a MATLAB
      .mat scene (I_MS, I_PAN; I_GT / I_MS_LR if present; L, its bit depth, if present).
    sensor: sensor name or `Sensor`.
    reduce: for a .mat scene, apply the Wald protocol: fuse at the reduced scale and keep the
      original MS as the ground truth.
    limit: read at most this many scenes of an .h5 file.
    bits: the data's bit depth when not the sensor's (or the .mat's L).

  Returns:
    Dict with ms (N, h, w, C), lms (N, H, W, C), pan (N, H, W, 1) and gt when known.
  """
  sensor = sensors.get_sensor(sensor)
  if not os.path.exists(path):
    raise FileNotFoundError(f"input {path} does not exist")
  if path.endswith((".h5", ".hdf5")):
    top = None if bits is None else sensors.get_sensor(sensor.name, bits=bits).max_value
    return read_pancollection(path, sensor, limit=limit, max_value=top)
  if not path.endswith(".mat"):
    raise ValueError(f"input {path}: expected a PanCollection .h5 or a MATLAB .mat scene")
  scene = read_mat_scene(path)
  sensor = scene_sensor(scene, sensor.name, bits)
  scene = (reduce_scene(scene, sensor, ratio=sensor.ratio) if reduce
           else full_scene(scene, ratio=sensor.ratio))
  return {k: (np.asarray(v, np.float32) / sensor.max_value)[None]
          for k, v in scene.items() if k in ("ms", "lms", "pan", "gt")}



def _old(path, sensor, reduce=False, limit=None, bits=None):
  return (_read_inputs(str(path), sensor, reduce=reduce, limit=limit, bits=bits),
          _input_sensor(str(path), sensor, bits=bits))


def _assert_same(new, old):
  (data, sensor), (want, want_sensor) = new, old
  assert sensor == want_sensor
  assert sorted(data) == sorted(want)
  for k in want:
    assert data[k].dtype == want[k].dtype == np.float32, k
    np.testing.assert_array_equal(data[k], want[k], err_msg=k)


@pytest.fixture(scope="module")
def mats(tmp_path_factory):
  d = tmp_path_factory.mktemp("mats")
  rng = np.random.default_rng(0)
  ms = rng.integers(0, 256, (16, 16, 4)).astype(np.uint8)
  pan = rng.integers(0, 256, (64, 64)).astype(np.uint8)
  scipy.io.savemat(d / "l8.mat", {"I_MS": ms, "I_PAN": pan, "L": 8.0, "sensor": "IKONOS"})
  scipy.io.savemat(d / "nol.mat", {"I_MS": ms.astype(np.uint16) * 7, "I_PAN": pan * 7.0})
  return {"l8": d / "l8.mat", "nol": d / "nol.mat", "ms": ms, "pan": pan}


@pytest.mark.parametrize("name, bits, top", [("l8", None, 255.0), ("l8", 11, 2047.0),
                                             ("nol", None, 2047.0), ("nol", 12, 4095.0)])
@pytest.mark.parametrize("reduce", [False, True])
def test_mat_matches_the_old_readers_and_the_formula(mats, name, bits, top, reduce):
  data, sensor = got = read_input(mats[name], "ikonos", reduce=reduce, bits=bits)
  _assert_same(got, _old(mats[name], "ikonos", reduce=reduce, bits=bits))
  assert sensor.max_value == top and sensor.name == "IKONOS"
  ms, pan = (mats[k].astype(np.float64) * (1 if name == "l8" else 7) for k in ("ms", "pan"))
  if reduce:  # Wald: the original MS is the ground truth
    assert sorted(data) == ["gt", "lms", "ms", "pan"] and data["ms"].shape == (1, 4, 4, 4)
    np.testing.assert_array_equal(data["gt"][0], sensor.to_model(ms))
  else:
    assert sorted(data) == ["lms", "ms", "pan"] and data["lms"].shape == (1, 64, 64, 4)
    np.testing.assert_array_equal(data["ms"][0], sensor.to_model(ms))
    np.testing.assert_array_equal(data["pan"][0, ..., 0], sensor.to_model(pan))


@pytest.fixture(scope="module")
def h5(tmp_path_factory):
  rng = np.random.default_rng(1)
  arrays = {k: rng.uniform(0, 250, (3, *shape)) for k, shape in
            (("gt", (16, 16, 4)), ("lms", (16, 16, 4)), ("ms", (4, 4, 4)), ("pan", (16, 16, 1)))}
  path = tmp_path_factory.mktemp("h5") / "test_qb.h5"
  write_pancollection(path, arrays, "qb", units="dn")
  return path, arrays


@pytest.mark.parametrize("bits, limit", [(8, None), (8, 2), (11, None)])
def test_h5_matches_the_old_readers(h5, bits, limit):
  path, arrays = h5
  # DN up to 250 are far below 11 bits' 2047: both readers warn the same way.
  expect = (lambda: pytest.warns(ScaleWarning)) if bits == 11 else contextlib.nullcontext
  with expect():
    got = read_input(path, "qb", limit=limit, bits=bits)
  with expect():
    old = _old(path, "qb", limit=limit, bits=bits)
  _assert_same(got, old)
  data, sensor = got
  assert sensor.max_value == 2.0 ** bits - 1 and len(data["gt"]) == (limit or 3)
  # Stored float32 DN / max in float32 (the PanCollection reader's own division).
  want = (arrays["pan"][:len(data["pan"])].astype(np.float32) / np.float32(sensor.max_value))
  np.testing.assert_array_equal(data["pan"], want)


def test_refusals(tmp_path):
  with pytest.raises(FileNotFoundError, match="absent.mat"):
    read_input(tmp_path / "absent.mat", "qb")
  (tmp_path / "scene.tif").write_bytes(b"x")
  with pytest.raises(ValueError, match="scene.tif.*expected a PanCollection .h5"):
    read_input(tmp_path / "scene.tif", "qb")


def test_real_geoeye1_reduced_matches_the_old_readers():
  path = REALDATA / "grip_imgGE1.mat"
  if not path.exists():
    pytest.skip(f"real scenes absent: {REALDATA}")
  got = read_input(path, "geoeye1", reduce=True)
  _assert_same(got, _old(path, "geoeye1", reduce=True))
  data, sensor = got
  assert sensor.max_value == 255.0  # its L = 8
  assert data["gt"].shape == (1, 320, 320, 4) and data["ms"].shape == (1, 80, 80, 4)


def test_a_mat_beyond_its_bit_depth_is_refused_and_one_far_below_warned(tmp_path):
  """Issue 18: a 16-bit product given as 11-bit was clipped into nonsense, an 8-bit .mat
  without L scaled as 11-bit without a word, L = 8 with values up to 1600 accepted."""
  rng = np.random.default_rng(0)
  ms8, pan8 = rng.integers(0, 256, (8, 8, 4)), rng.integers(0, 256, (32, 32))
  scipy.io.savemat(tmp_path / "no_l.mat", {"I_MS": ms8, "I_PAN": pan8})
  with pytest.warns(ScaleWarning, match="8-bit data scaled as 11-bit.*--bits 8"):
    read_input(tmp_path / "no_l.mat", "ikonos")
  scipy.io.savemat(tmp_path / "l8_big.mat", {"I_MS": ms8 * 6, "I_PAN": pan8 * 6, "L": 8})
  with pytest.raises(ValueError, match=r"exceed the 8-bit maximum 255 \(the file's L\).*"
                     r"--bits 11"):
    read_input(tmp_path / "l8_big.mat", "ikonos")
  big = rng.integers(0, 25417, (8, 8, 4))
  scipy.io.savemat(tmp_path / "l16.mat", {"I_MS": big, "I_PAN": rng.integers(0, 9, (32, 32))})
  with pytest.raises(ValueError, match=r"exceed the 11-bit maximum 2047 \(the sensor table\)"):
    read_input(tmp_path / "l16.mat", "ikonos")
  data, sensor = read_input(tmp_path / "l16.mat", "ikonos", bits=16)  # told: fine
  assert sensor.max_value == 65535.0
