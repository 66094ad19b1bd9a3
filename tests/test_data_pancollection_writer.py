"""data.pancollection.writer: overwriting refused unless asked, invalid arrays and unit writes
of digital numbers refused with nothing left on disk."""

from __future__ import annotations

import numpy as np
import pytest

from srino_jax.data.pancollection import read_pancollection, write_pancollection
from srino_jax.sensors import get_sensor
from _pancollection_arrays import arrays_dn as _arrays_dn




def _listing(folder):
  return sorted(p.name for p in folder.iterdir())


def test_overwrite_refused_then_allowed(tmp_path):
  sensor = get_sensor("qb")
  a = _arrays_dn(1, 4, 8, 2047.0, seed=0)
  b = _arrays_dn(1, 4, 8, 2047.0, seed=1)
  path = write_pancollection(tmp_path / "o.h5", a, sensor, units="dn")
  with pytest.raises(FileExistsError, match="o.h5"):
    write_pancollection(path, b, sensor, units="dn")
  np.testing.assert_array_equal(read_pancollection(path, sensor, scale=1.0)["pan"], a["pan"])
  write_pancollection(path, b, sensor, units="dn", overwrite=True)
  np.testing.assert_array_equal(read_pancollection(path, sensor, scale=1.0)["pan"], b["pan"])
  assert _listing(tmp_path) == ["o.h5"]  # no temp files left


def _bad_cases():
  """(name, mutate(arrays) -> arrays, message regex) for write validation."""
  def drop(key):
    return lambda a: {k: v for k, v in a.items() if k != key}

  def replace(key, fn):
    return lambda a: {**a, key: fn(a[key])}

  def nan_at(v):
    v = v.copy()
    v[0, 1, 1, 0] = np.nan
    return v

  def inf_at(v):
    v = v.copy()
    v[-1, 0, 0, -1] = np.inf
    return v

  return [
      ("missing ms", drop("ms"), r"missing key.*'ms'"),
      ("missing pan", drop("pan"), r"missing key.*'pan'"),
      ("pan not r x ms", replace("ms", lambda v: v[:, :3, :3]), r"'pan'.*not ratio 4 times"),
      ("lms off grid", replace("lms", lambda v: v[:, :12, :12]), r"'lms'.*not on the PAN grid"),
      ("gt off grid", replace("gt", lambda v: v[:, :, :12]), r"'gt'.*not on the PAN grid"),
      ("gt bands", replace("gt", lambda v: v[..., :3]), r"'gt' has 3 bands.*has 4"),
      ("ms bands", replace("ms", lambda v: np.concatenate([v, v], -1)), r"'ms' has 8 bands"),
      ("pan bands", replace("pan", lambda v: np.concatenate([v, v], -1)), r"'pan' has 2 bands"),
      ("nan", replace("lms", nan_at), r"'lms' contains 1 NaN/Inf"),
      ("inf", replace("gt", inf_at), r"'gt' contains 1 NaN/Inf"),
      ("rank", replace("ms", lambda v: v[0]), r"'ms' has rank 3"),
      ("empty", lambda a: {k: v[:0] for k, v in a.items()}, r"0 examples"),
      ("no datasets", lambda a: {}, r"empty file"),
      ("counts", replace("pan", lambda v: v[:1]), r"example counts disagree"),
  ]


@pytest.mark.parametrize("name,mutate,message", _bad_cases(), ids=[c[0] for c in _bad_cases()])
def test_write_validation_leaves_nothing(tmp_path, name, mutate, message):
  sensor = get_sensor("qb")
  arrays = mutate(_arrays_dn(2, 4, 16, 2047.0))
  target = tmp_path / "bad.h5"
  with pytest.raises(ValueError, match=message) as info:
    write_pancollection(target, arrays, sensor, units="dn")
  assert "bad.h5" in str(info.value)
  assert _listing(tmp_path) == []


def test_unit_write_refuses_digital_numbers(tmp_path):
  with pytest.raises(ValueError, match="units='dn'"):
    write_pancollection(tmp_path / "x.h5", _arrays_dn(1, 4, 8, 2047.0), "qb")
  assert _listing(tmp_path) == []
