"""The sensor table: SPEC values, case-insensitive lookup, registration, validation."""

import pytest

from srino_jax import sensors


@pytest.mark.parametrize("name,bands,max_value,pan_gain,first_gain", [
    ("WV3", 8, 2047, 0.14, 0.325), ("WV2", 8, 2047, 0.11, 0.35), ("QB", 4, 2047, 0.15, 0.34),
    ("GF2", 4, 1023, 0.15, 0.3), ("IKONOS", 4, 2047, 0.17, 0.26)])
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
  with pytest.raises(ValueError, match="GF2, IKONOS, QB, WV2, WV3"):
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
