"""Pan-sharpening quality indices with the conventions of Vivone et al.'s MATLAB toolbox.

Reduced resolution (against a ground truth): `psnr`, `sam`, `ergas`, `scc`, `q2n`.
Full resolution (no ground truth): `d_lambda_khan`, `d_s`, `hqnr`.
Score sets and stacks: `reduced_resolution`, `full_resolution`, `score_stack`.
Tables: `format_table`, `rows_to_csv`, `rows_to_json` (in `report`).
Comparisons: `evaluate_methods` (baselines and fused stacks -> rows, in `compare`).

All functions take H x W x C images in digital numbers (0 .. 2^bits - 1), reference first.
"""

from srino_jax.metrics.compare import evaluate_methods
from srino_jax.metrics.full import d_lambda_khan, d_s, degraded_pan, hqnr, uqi_blocks
from srino_jax.metrics.q2n import hypercomplex_product, q2n, q2n_map
from srino_jax.metrics.reduced import ergas, psnr, psnr_mse, sam, scc
from srino_jax.metrics.report import format_table, make_row, rows_to_csv, rows_to_json
from srino_jax.metrics.tables import (FULL_INDICES, REDUCED_INDICES, full_resolution,
                                      reduced_resolution, score_stack, summarize)

__all__ = [
    "psnr", "psnr_mse", "sam", "ergas", "scc", "q2n", "q2n_map", "hypercomplex_product",
    "d_lambda_khan", "d_s", "hqnr", "uqi_blocks", "degraded_pan",
    "reduced_resolution", "full_resolution", "score_stack", "summarize",
    "REDUCED_INDICES", "FULL_INDICES",
    "format_table", "make_row", "rows_to_csv", "rows_to_json", "evaluate_methods",
]
