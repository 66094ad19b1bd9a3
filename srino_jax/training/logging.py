"""Scalar logs: JSON lines (one object per record) and TensorBoard event files."""

from __future__ import annotations

import json
import os
import time
from typing import Mapping

__all__ = ["MetricWriter"]


class MetricWriter:
  """Writes scalars to `<logdir>/metrics.jsonl` and TensorBoard events in `<logdir>`.

  Only process 0 of a multi-host run writes. TensorBoard is optional at run time: without
  `tensorboardX` the JSON lines are still written.
  """

  def __init__(self, logdir: str, enabled: bool = True):
    self.enabled = enabled
    self._tb = None
    self._jsonl = None
    if not enabled:
      return
    os.makedirs(logdir, exist_ok=True)
    self._jsonl = open(os.path.join(logdir, "metrics.jsonl"), "a", encoding="utf-8")
    try:
      from tensorboardX import SummaryWriter
      self._tb = SummaryWriter(logdir)
    except ImportError:  # pragma: no cover - tensorboardX is a dependency
      self._tb = None

  def write(self, step: int, scalars: Mapping[str, float], prefix: str = "") -> None:
    if not self.enabled:
      return
    scalars = {f"{prefix}{k}": float(v) for k, v in scalars.items()}
    self._jsonl.write(json.dumps({"step": int(step), "time": time.time(), **scalars}) + "\n")
    self._jsonl.flush()
    if self._tb is not None:
      for k, v in scalars.items():
        self._tb.add_scalar(k, v, int(step))
      self._tb.flush()

  def close(self) -> None:
    if self._jsonl is not None:
      self._jsonl.close()
    if self._tb is not None:
      self._tb.close()
