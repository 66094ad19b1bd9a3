"""Scalar logs: JSON lines (one object per record) and TensorBoard event files.

After a resume from a checkpoint at step S, the steps logged after S by the interrupted run
are dropped from both logs (`MetricWriter(..., resume_step=S)`), so every step appears
once however many times a run is resumed.
"""

from __future__ import annotations

import glob
import json
import os
import struct
import time
from typing import Iterator, Mapping

from srino_jax.atomic import atomic_output, write_text_atomic

__all__ = ["MetricWriter", "read_jsonl", "read_event_scalars", "truncate_logs"]

_JSONL = "metrics.jsonl"
_EVENTS = "events.out.tfevents.*"


class MetricWriter:
  """Writes scalars to `<logdir>/metrics.jsonl` and TensorBoard events in `<logdir>`.

  Only process 0 of a multi-host run writes. TensorBoard is optional at run time: without
  `tensorboardX` the JSON lines are still written.

  Args:
    logdir: the folder (created).
    enabled: False writes nothing (processes other than 0).
    resume_step: the step of the checkpoint a run resumes from: records with a larger step
      already in the logs (written after that checkpoint by the interrupted run) are removed
      first (`truncate_logs`), so each step is logged once. None (a fresh run, or logs
      to keep as they are) removes nothing.
  """

  def __init__(self, logdir: str, enabled: bool = True, resume_step: int | None = None):
    self.enabled = enabled
    self.logdir = logdir
    self._tb = None
    self._jsonl = None
    if not enabled:
      return
    os.makedirs(logdir, exist_ok=True)
    if resume_step is not None:
      truncate_logs(logdir, resume_step)
    self._jsonl = open(os.path.join(logdir, _JSONL), "a", encoding="utf-8")
    try:
      from tensorboardX import SummaryWriter
      # purge_step: TensorBoard itself also hides older events at steps >= it (belt and
      # braces: truncate_logs already removed them from the files).
      purge = None if resume_step is None else int(resume_step) + 1
      # The suffix keeps files of writers opened within one second apart (tensorboardX names
      # files by the second and opens them with "wb": a quick resume would erase the last
      # file) and in creation order when sorted by name, as TensorBoard loads them.
      self._tb = SummaryWriter(logdir, purge_step=purge,
                               filename_suffix=f".{time.time_ns():020d}")
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


def read_jsonl(path: str) -> list[dict]:
  """The records of a metrics.jsonl; an unparsable line (a crash mid-write) is skipped."""
  out = []
  if not os.path.exists(path):
    return out
  with open(path, encoding="utf-8") as f:
    for line in f:
      try:
        out.append(json.loads(line))
      except json.JSONDecodeError:
        continue
  return out


def _records(path: str) -> Iterator[bytes]:
  """TFRecord payloads of an event file (length, crc, data, crc); a truncated tail ends it."""
  with open(path, "rb") as f:
    while True:
      head = f.read(12)
      if len(head) < 12:
        return
      (n,) = struct.unpack("<Q", head[:8])
      data = f.read(n + 4)
      if len(data) < n + 4:
        return
      yield data[:n]


def _write_records(path: str, payloads: list[bytes]) -> None:
  from tensorboardX.record_writer import masked_crc32c

  with atomic_output(path) as tmp, open(tmp, "wb") as f:
    for data in payloads:
      head = struct.pack("<Q", len(data))
      f.write(head + struct.pack("<I", masked_crc32c(head)) + data
              + struct.pack("<I", masked_crc32c(data)))


def _event_files(logdir: str) -> list[str]:
  return sorted(glob.glob(os.path.join(logdir, _EVENTS)))


def truncate_logs(logdir: str, step: int) -> None:
  """Removes the records with a step > `step` from metrics.jsonl and the event files.

  Each file is rewritten atomically, and only when something is removed.
  """
  step = int(step)
  path = os.path.join(logdir, _JSONL)
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      lines = f.readlines()
    keep = []
    for line in lines:
      try:
        rec = json.loads(line)
      except json.JSONDecodeError:
        continue  # a line cut by a crash
      if int(rec.get("step", -1)) <= step:
        keep.append(line if line.endswith("\n") else line + "\n")
    if keep != lines:
      write_text_atomic(path, "".join(keep))
  try:
    from tensorboardX.proto.event_pb2 import Event
  except ImportError:  # pragma: no cover
    return
  for events in _event_files(logdir):
    payloads = list(_records(events))
    keep = [p for p in payloads if Event.FromString(p).step <= step]
    if len(keep) != len(payloads) or os.path.getsize(events) != sum(len(p) + 16 for p in
                                                                     payloads):
      _write_records(events, keep)


def read_event_scalars(logdir: str, purge: bool = True) -> dict[str, list[tuple[int, float]]]:
  """tag -> [(step, value), ...] as TensorBoard loads a run folder.

  The event files are read in name (creation-time) order; with `purge`, a SessionLog START
  event at step s drops the earlier-read events at steps >= s, as TensorBoard's
  `purge_orphaned_data` does. purge=False shows what the files hold.
  """
  from tensorboardX.proto.event_pb2 import Event, SessionLog

  out: dict[str, list[tuple[int, float]]] = {}
  for events in _event_files(logdir):
    for payload in _records(events):
      ev = Event.FromString(payload)
      if purge and ev.HasField("session_log") and ev.session_log.status == SessionLog.START:
        out = {t: [(s, v) for s, v in sv if s < ev.step] for t, sv in out.items()}
      for value in ev.summary.value:
        if value.HasField("simple_value"):
          out.setdefault(value.tag, []).append((int(ev.step), float(value.simple_value)))
  return out
