"""The sensor table: SPEC values, case-insensitive lookup, registration, validation."""

import numpy as np
import pytest

from srino_jax import sensors


@pytest.mark.parametrize("name,bands,max_value,pan_gain,first_gain", [
    ("WV3", 8, 2047, 0.14, 0.325), ("WV2", 8, 2047, 0.11, 0.35), ("QB", 4, 2047, 0.15, 0.34),
    ("GF2", 4, 1023, 0.15, 0.3), ("IKONOS", 4, 2047, 0.17, 0.26),
    ("GEOEYE1", 4, 2047, 0.16, 0.23), ("PLEIADES", 4, 4095, 0.15, 0.3)])
def test_table_matches_the_spec(name, bands, max_value, pan_gain, first_gain):
  s = sensors.get_sensor(name.lower())
  assert (s.name, s.bands, s.max_value, s.pan_gain, s.ms_gains[0], s.ratio) == \
      (name, bands, max_value, pan_gain, first_gain, 4)
  assert len(s.ms_gains) == bands


def test_wv2_nir2_and_wv3_gains():
  assert sensors.get_sensor("wv2").ms_gains == (0.35,) * 7 + (0.27,)
  assert sensors.get_sensor("Wv3").ms_gains == (0.325, 0.355, 0.360, 0.350, 0.365, 0.360,
                                                0.335, 0.315)


def test_unknown_name_lists_the_known_ones():
  with pytest.raises(ValueError, match="GEOEYE1, GF2, IKONOS, PLEIADES, QB, WV2, WV3"):
    sensors.get_sensor("landsat")


def test_register_a_user_sensor_and_refuse_duplicates_and_bad_tables():
  mine = sensors.Sensor("MYSAT_TEST", 3, 4095.0, (0.3, 0.3, 0.3), 0.15)
  assert sensors.register_sensor(mine) is mine
  assert sensors.get_sensor("mysat_test") is mine
  with pytest.raises(ValueError, match="already registered"):
    sensors.register_sensor(mine)
  with pytest.raises(ValueError, match="2 MS gains for 3 bands"):
    sensors.Sensor("BAD", 3, 255.0, (0.3, 0.3), 0.1)
  with pytest.raises(ValueError, match=r"\(0, 1\)"):
    sensors.Sensor("BAD", 1, 255.0, (1.5,), 0.1, rgb=(0, 0, 0))


def test_geoeye1_and_pleiades_gains_are_the_toolbox_tables():
  # genMTF.m: GeoEye1 0.23 x 4, PAN 0.16; Pleiades (toolbox default) 0.3 x 4, PAN 0.15.
  assert sensors.get_sensor("GeoEye1").ms_gains == (0.23,) * 4
  assert sensors.get_sensor("pleiades").ms_gains == (0.3,) * 4


@pytest.mark.parametrize("bits,max_value", [(8, 255.0), (11, 2047.0), (12, 4095.0),
                                            (16, 65535.0)])
def test_a_scene_bit_depth_overrides_the_max_and_nothing_else(bits, max_value):
  table = sensors.get_sensor("GEOEYE1")
  scene = sensors.get_sensor("geoeye1", bits=bits)
  assert scene.max_value == max_value == 2.0 ** bits - 1
  assert scene == table.with_bits(bits)
  assert (scene.name, scene.bands, scene.ms_gains, scene.pan_gain, scene.ratio, scene.rgb) == \
      (table.name, table.bands, table.ms_gains, table.pan_gain, table.ratio, table.rgb)
  assert sensors.get_sensor(table, bits=bits) == scene  # a Sensor instance too
  assert table.max_value == 2047.0  # the registered entry is untouched
  assert sensors.get_sensor("geoeye1", bits=None) is table


@pytest.mark.parametrize("bits", [0, 2.5, 40, -3])
def test_bad_bit_depth_is_refused(bits):
  with pytest.raises(ValueError, match="bit depth"):
    sensors.get_sensor("IKONOS", bits=bits)


@pytest.mark.parametrize("bits", [8, 11])
def test_model_units_are_dn_over_the_max_and_back(bits):
  sensor = sensors.get_sensor("geoeye1", bits=bits)
  top = 2.0 ** bits - 1
  dn = np.array([[0, 1, 17], [top // 3, top - 1, top]], np.uint16)
  x = sensor.to_model(dn)
  assert x.dtype == np.float32 and x.shape == dn.shape
  # One rounding: the float64 quotient rounded to float32.
  np.testing.assert_array_equal(x, (dn.astype(np.float64) / top).astype(np.float32))
  assert x[0, 0] == 0.0 and x[1, 2] == 1.0
  back = sensor.to_dn(x)
  assert back.dtype == np.float64
  np.testing.assert_array_equal(back, x.astype(np.float64) * top)
  # float32 keeps 24 bits: DN of at most 16 bits come back to within 2^-24 relative.
  np.testing.assert_allclose(back, dn, rtol=2.0 ** -24, atol=0)
  np.testing.assert_array_equal(np.round(back), dn)
  half = sensor.to_dn(0.5)
  assert half.shape == () and half == top / 2
