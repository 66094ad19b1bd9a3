"""srino_jax.scene.memory: the plan takes the fewest tiles that cover, within the budget."""

import pytest

from srino_jax.scene import tiling


def test_plan_shrinks_tiles_to_the_fewest_that_cover_and_fits_the_budget():
  from srino_jax.scene import memory, methods
  exp = methods.classical_method("exp", methods.generic_sensor(8, "uint16"))
  plan = memory.plan_fusion(exp, 4096, 4096, 4, 2 ** 40, tile=1376, overlap=64)
  # 1376 needs 4 tiles per axis; 4 tiles of 1072 cover 4096 with >= 64 of overlap.
  assert (plan.tile_rows, plan.tiles) == (1072, 16)
  starts = tiling.tile_starts(4096, 1072, 64, 4)
  assert len(starts) == 4 and starts[-1] + 1072 == 4096
  assert min(1072 - (b - a) for a, b in zip(starts, starts[1:])) >= 64
  whole = memory.plan_fusion(exp, 4096, 4096, 4, 2 ** 40)
  assert whole.whole and whole.peak_bytes > 16 * 120 * 4096 ** 2 / 2  # ~120 B per px band
  small = memory.plan_fusion(exp, 4096, 4096, 4, memory.parse_size("2G"))
  assert not small.whole and small.peak_bytes <= memory.parse_size("2G")
  with pytest.raises(ValueError, match="more than --max-memory"):
    memory.plan_fusion(exp, 4096, 4096, 4, memory.parse_size("100M"))
