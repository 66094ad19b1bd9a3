"""The MATLAB pan-sharpening toolbox's operators (Vivone et al.), in NumPy.

The bottom of the house: no JAX, no files. Images are H x W x C float64 arrays in digital
numbers (PAN H x W x 1); every function reproduces its toolbox counterpart.

- `mtf_kernel`, `mtf_pan_kernel`, `mtf_filter`, `mtf_pan_filter` (genMTF / MTF_PAN);
- `interp23tap` (the 23-tap polynomial interpolator), `imresize` (MATLAB bicubic);
- `wald_degrade`, `decimate` (resize_images: the Wald protocol's reduction);
- `as_image`, `as_pan`, `as_stack`, `as_ms_pan`, `check_same_shape` (argument checks).
"""

from srino_jax.toolbox.arrays import as_image, as_ms_pan, as_pan, as_stack, check_same_shape
from srino_jax.toolbox.interp import interp23tap
from srino_jax.toolbox.mtf import mtf_filter, mtf_kernel, mtf_pan_filter, mtf_pan_kernel
from srino_jax.toolbox.resize import imresize
from srino_jax.toolbox.wald import decimate, wald_degrade

__all__ = [
    "mtf_kernel", "mtf_pan_kernel", "mtf_filter", "mtf_pan_filter", "interp23tap", "imresize",
    "wald_degrade", "decimate", "as_image", "as_pan", "as_stack", "as_ms_pan",
    "check_same_shape",
]
