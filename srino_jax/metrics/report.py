"""Comparison tables: rows of "mean +- std" per method, printed, or written as CSV / JSON.

A row is a plain dict (JSON-ready) made by `make_row` from a `score_stack` result:
  {"method": str, "kind": "reduced" | "full", "n": int, "indices": [names],
   "mean": {name: float}, "std": {name: float}, "per_image": {name: [floats]},
   "seconds": float | None}
Evaluation scripts build the baseline rows, training / sampling scripts add SRINO rows,
and everybody prints them with `format_table`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from typing import Any, Sequence

from srino_jax.atomic import write_text_atomic

__all__ = ["make_row", "format_table", "rows_to_csv", "rows_to_json", "column_label",
           "protocol_note"]

# Decimals shown per index (the papers print 3 or 4).
_DECIMALS = {"PSNR": 3, "PSNR_MSE": 3, "SAM": 3, "ERGAS": 3, "SCC": 4, "Q2n": 4,
             "D_lambda_K": 4, "D_s": 4, "HQNR": 4}
# Printed column names: the two PSNR conventions, each labelled.
_LABELS = {"PSNR": "PSNR(bands)", "PSNR_MSE": "PSNR(MSE)"}


def make_row(method: str, scores: dict[str, Any], seconds: float | None = None,
             bands: int | None = None) -> dict[str, Any]:
  """Turns a `score_stack` result into a table row.

  Args:
    method: row label, e.g. "GSA" or "SRINO".
    scores: the dict returned by `score_stack`.
    seconds: optional wall time (e.g. fusion time per image) to keep in the row.
    bands: band count, used to label Q2n as Q4 / Q8.
  """
  return {
      "method": str(method),
      "kind": scores["kind"],
      "n": int(scores["n"]),
      "bands": bands,
      "indices": list(scores["indices"]),
      "mean": {k: float(v) for k, v in scores["mean"].items()},
      "std": {k: float(v) for k, v in scores["std"].items()},
      "per_image": {k: [float(x) for x in v] for k, v in scores["per_image"].items()},
      "seconds": None if seconds is None else float(seconds),
      "protocol": dict(scores.get("protocol", {})),
  }


def column_label(name: str, bands: int | None) -> str:
  """Display name of an index: Q2n is printed Q4 / Q8 (Q2^n) for 4 / 8 bands."""
  if name == "Q2n" and bands:
    return f"Q{1 << math.ceil(math.log2(bands))}" if bands > 1 else "Q"
  return _LABELS.get(name, name)


def protocol_note(rows: Sequence[dict[str, Any]]) -> str:
  """The evaluation protocol of a table, in one line: border cut, clipping, PSNRs.

  Raises:
    ValueError: rows scored under different protocols (they cannot share a table).
  """
  protocols = {(r["protocol"].get("dim_cut"), r["protocol"].get("clip"))
               for r in rows if r.get("protocol")}
  if len(protocols) > 1:
    raise ValueError(f"rows scored under different protocols {sorted(protocols)}")
  if not protocols:
    return ""
  (dim_cut, clip), = protocols
  cut = (f"border cut dim_cut={dim_cut} (the toolbox's I({dim_cut}:end-{dim_cut}, "
         f"{dim_cut}:end-{dim_cut}))" if dim_cut else "no border cut (dim_cut=0)")
  clipped = "fused clipped to [0, 2^bits]" if clip else "fused unclipped"
  psnrs = ("; PSNR(bands) = mean over bands of 10 log10(max^2 / MSE_b) (toolbox), "
           "PSNR(MSE) = 10 log10(max^2 / MSE over all bands)"
           if any("PSNR" in r["indices"] for r in rows) else "")
  return f"protocol: {cut}; {clipped}{psnrs}"


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
  cols: list[str] = []
  for row in rows:
    for name in row["indices"]:
      if name not in cols:
        cols.append(name)
  return cols


def _cell(row: dict[str, Any], name: str) -> str:
  if name not in row["mean"]:
    return "-"
  d = _DECIMALS.get(name, 4)
  return f"{row['mean'][name]:.{d}f} ± {row['std'][name]:.{d}f}"


def format_table(rows: Sequence[dict[str, Any]], title: str | None = None) -> str:
  """Formats rows as a plain-text table: one row per method, "mean ± std" per index.

  Args:
    rows: rows from `make_row` (reduced and full rows may be mixed; missing cells are "-").
    title: optional first line.

  Returns:
    the table as a string (no trailing newline).
  """
  if not rows:
    return "(no rows)"
  cols = _columns(rows)
  bands = next((r.get("bands") for r in rows if r.get("bands")), None)
  header = ["method"] + [column_label(c, bands) for c in cols] + ["n"]
  body = [[r["method"]] + [_cell(r, c) for c in cols] + [str(r["n"])] for r in rows]
  widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]

  def fmt(line):
    first = line[0].ljust(widths[0])
    rest = [cell.rjust(w) for cell, w in zip(line[1:], widths[1:])]
    return "  ".join([first] + rest)

  lines = [] if title is None else [title]
  lines += [fmt(header), "  ".join("-" * w for w in widths)] + [fmt(line) for line in body]
  note = protocol_note(rows)  # every printed table states how it was scored
  return "\n".join(lines + ([note] if note else []))


def rows_to_csv(rows: Sequence[dict[str, Any]], path: str | os.PathLike) -> None:
  """Writes one CSV line per method: method, n, <index>_mean, <index>_std, ..., seconds."""
  cols = _columns(rows)
  buf = io.StringIO()
  writer = csv.writer(buf)
  writer.writerow(["method", "n"] + [f"{c}_{s}" for c in cols for s in ("mean", "std")]
                  + ["seconds"])
  for r in rows:
    cells = []
    for c in cols:
      cells += ([repr(r["mean"][c]), repr(r["std"][c])] if c in r["mean"] else ["", ""])
    writer.writerow([r["method"], r["n"]] + cells
                    + ["" if r.get("seconds") is None else repr(r["seconds"])])
  write_text_atomic(path, buf.getvalue())


def rows_to_json(rows: Sequence[dict[str, Any]], path: str | os.PathLike,
                 meta: dict[str, Any] | None = None) -> None:
  """Writes {"meta": ..., "rows": [...]} (rows with per-image values) as JSON."""
  write_text_atomic(path, json.dumps({"meta": meta or {}, "rows": list(rows)}, indent=2,
                                 allow_nan=True) + "\n")
