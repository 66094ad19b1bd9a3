"""Classical baselines on the real WorldView-2 scene (evaluation only), both protocols.

  python benchmarks/wv2_baselines.py [--mat PATH] [--out benchmarks/results/wv2_baselines.txt]

Reduced resolution: the Wald reduction of the whole scene (MS 80 x 80 -> 320 x 320, GT = the
original MS). Full resolution: the top-left 320 x 320 PAN crop with its 80 x 80 MS. Fused
images are scored with the toolbox indices, unclipped and with the toolbox's clipping, no
border cut. Nothing is fitted or tuned on this scene.
"""

import argparse
import pathlib

import numpy as np

from srino_jax import baselines, metrics
from srino_jax.data.products import crop_scene, full_scene, read_mat_scene, reduce_scene
from srino_jax.evaluate import evaluate_methods

DEFAULT = pathlib.Path(__file__).resolve().parents[2] / "shared" / "realdata" / \
    "pypansharpening_imgWV2.mat"


def main():
  p = argparse.ArgumentParser(description=__doc__,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
  p.add_argument("--mat", default=str(DEFAULT), help="the WV2 .mat scene")
  p.add_argument("--out", help="also write the tables to this text file")
  args = p.parse_args()
  scene = read_mat_scene(args.mat)
  reduced = reduce_scene(scene, "wv2")
  crop = crop_scene({"ms": scene["ms"][:80, :80], "pan": scene["pan"][:320, :320]}, 4)
  full = full_scene(crop)
  methods = baselines.available_methods()
  text = []
  for name, case in (("Reduced resolution (Wald), MS 80x80 -> 320x320", reduced),
                     ("Full resolution, 320x320 PAN crop", full)):
    stacked = {k: np.asarray(v, np.float64)[None] for k, v in case.items()}
    for clip in (False, True):
      rows = evaluate_methods(stacked, "wv2", methods, clip=clip)
      text.append(metrics.format_table(
          rows, title=f"WV2 {name}, {'clipped to [0, 2048]' if clip else 'unclipped'}"))
  report = "\n\n".join(text)
  print(report)
  if args.out:
    pathlib.Path(args.out).write_text(report + "\n", encoding="utf-8")


if __name__ == "__main__":
  main()
