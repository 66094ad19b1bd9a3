"""Whole scenes: PAN + MS GeoTIFF pairs of any size fused into a georeferenced GeoTIFF.

  python -m srino_jax.scene --pan PAN.tif --ms MS.tif --output OUT.tif --method gsa

- `srino_jax.data.geotiff` (the data layer's one GeoTIFF reader): the pair's checks (CRS,
  ratio, extents, nodata), its output grid (`ScenePair`) and windowed reads.
- `tiling`: tile grid aligned to the ratio, raised-cosine blending, row-band streaming.
- `methods`: classical baselines by name and SRINO from a checkpoint (`SceneMethod`).
- `memory`: memory budget, estimates, whole-or-tiled plan.
- `writer`: tiled, compressed, atomic GeoTIFF / COG output.
- `fuse`: `fuse_pair`, the loop over tiles.
- `export`: .mat files for the MATLAB toolbox's demos and DLPan's scripts.
"""

from srino_jax.scene.fuse import fuse_pair, fuse_window
from srino_jax.data.geotiff import ScenePair, open_pair
from srino_jax.scene.memory import Plan, parse_size, plan_fusion
from srino_jax.scene.methods import SceneMethod, classical_method, generic_sensor, srino_method

__all__ = ["fuse_pair", "fuse_window", "ScenePair", "open_pair", "Plan", "parse_size",
           "plan_fusion", "SceneMethod", "classical_method", "generic_sensor", "srino_method"]
