"""PanCollection HDF5 files: validated reading (eager and lazy) and atomic writing.

File layout (the PanCollection convention, Deng et al.'s DLPan-Toolbox): datasets
  gt  (N, C, H, W)      reference HRMS, absent in full-resolution sets
  ms  (N, C, H/r, W/r)  low-resolution MS
  lms (N, C, H, W)      MS upsampled to the PAN grid (interp23tap)
  pan (N, 1, H, W)      panchromatic image
  sr  (N, C, H, W)      optional: a fused output written by this library
stored as float in digital numbers (0 .. 2^bits - 1). Some public copies are already divided
by the sensor's maximum: each key whose maximum is <= 1.5 is such a key, and a file whose
keys disagree is refused (`scale.detect_scale`).

Inside the library arrays are NHWC float32 in model units (digital numbers / scale); the
transposition happens here and nowhere else.

Modules: `layout` (keys, shape and value checks), `scale` (the one scale detector),
`reader` (`PanCollectionFile`, `read_pancollection`), `writer` (`write_pancollection`).
"""

from srino_jax.data.pancollection.layout import IMAGE_KEYS, INPUT_KEYS, validate_shapes
from srino_jax.data.pancollection.reader import (PanCollectionData, PanCollectionFile,
                                                 read_pancollection)
from srino_jax.data.pancollection.scale import (SCALED_MAX, ScaleInfo, ScaleWarning,
                                                detect_scale)
from srino_jax.data.pancollection.writer import write_pancollection

__all__ = ["IMAGE_KEYS", "INPUT_KEYS", "PanCollectionData", "PanCollectionFile",
           "read_pancollection", "write_pancollection", "validate_shapes", "SCALED_MAX",
           "ScaleInfo", "ScaleWarning", "detect_scale"]
