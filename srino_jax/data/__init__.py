"""Pan-sharpening data: PanCollection files, training batches, real scenes.

Images are H x W x C arrays (PAN H x W x 1) in digital numbers for the toolbox operators;
model batches are NHWC float32 divided by the sensor max. Files are NCHW, converted here.

- Re-exported from `srino_jax.toolbox`: `mtf_kernel`, `mtf_filter`, `mtf_pan_kernel`,
  `mtf_pan_filter`, `interp23tap`, `imresize`, `wald_degrade`.
- PanCollection HDF5: `read_pancollection`, `PanCollectionFile` (lazy), `write_pancollection`;
  `TrainBatches` (seeded training batches), `eval_batches`.
- Products (products.py: the PAN + MS of one acquisition): `read_mat_scene`, `scene_sensor`
  (the sensor with the product's bit depth), `reduce_scene`, `full_scene`, `crop_scene`.
- GeoTIFF pairs (geotiff.py, the one GeoTIFF reader): `open_pair` (checks, output grid
  `ScenePair`), `read_ms` / `read_pan` (windows), `read_geotiff_pair` (whole), `write_geotiff`.
- Fusion inputs (inputs.py): `read_input` (.h5 or .mat -> NHWC model units and the `Sensor`).
- Real-scene training: `HoldOut` / `split_scene` (a spatial hold-out, holdout.py),
  `RealScene` / `RealSceneSource` (Wald-reduced real patches on the fly, realscenes.py),
  `FileSource` / `MixedBatches` (weighted sources, TrainBatches' interface, sources.py),
  `augment_batch` / `dihedral` (the 8 flips/rotations, augment.py).
- Command line: `python -m srino_jax.data.make_dataset` (synthetic sets: `srino_jax.synthetic`).
"""

# The toolbox operators are re-exported here: code written against `srino_jax.data` keeps working.
from srino_jax.toolbox import (imresize, interp23tap, mtf_filter, mtf_kernel, mtf_pan_filter,
                               mtf_pan_kernel, wald_degrade)
from srino_jax.data.pancollection import (SCALED_MAX, PanCollectionFile, read_pancollection,
                                          write_pancollection)
from srino_jax.data.pipeline import TrainBatches, eval_batches
from srino_jax.data.augment import augment_batch, dihedral
from srino_jax.data.holdout import HoldOut, split_scene
from srino_jax.data.realscenes import REAL_SCENES, RealScene, RealSceneSource, real_scene_sources
from srino_jax.data.sources import FileSource, MixedBatches
from srino_jax.data.products import (crop_scene, full_scene, read_mat_scene, reduce_scene,
                                     scene_sensor)
from srino_jax.data.geotiff import (ScenePair, open_pair, read_geotiff_pair, read_ms, read_pan,
                                    write_geotiff)
from srino_jax.data.inputs import read_input

__all__ = [
    "interp23tap", "mtf_filter", "mtf_kernel", "mtf_pan_filter", "mtf_pan_kernel", "imresize",
    "wald_degrade", "SCALED_MAX", "PanCollectionFile", "read_pancollection", "write_pancollection",
    "TrainBatches", "eval_batches", "crop_scene", "full_scene", "read_mat_scene",
    "reduce_scene", "scene_sensor", "ScenePair", "open_pair", "read_geotiff_pair", "read_ms",
    "read_pan", "write_geotiff", "read_input", "augment_batch", "dihedral", "HoldOut",
    "split_scene", "REAL_SCENES", "RealScene", "RealSceneSource", "real_scene_sources",
    "FileSource", "MixedBatches",
]
