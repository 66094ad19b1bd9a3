"""MetricWriter: each step once in metrics.jsonl and the TensorBoard events after resumes."""

from __future__ import annotations

import glob
import json
import os
import struct

from tensorboardX.record_writer import masked_crc32c

from srino_jax.training.logging import MetricWriter, read_event_scalars, read_jsonl


def _run(logdir, steps, offset, resume_step=None):
  w = MetricWriter(str(logdir), resume_step=resume_step)
  for s in steps:
    w.write(s, {"loss": offset + s, "lr": 0.5 * s}, prefix="train/")
  w.close()


def _check_crcs(path):
  """Every record's length and data CRCs hold (what TensorBoard's reader verifies)."""
  raw = open(path, "rb").read()
  pos, count = 0, 0
  while pos < len(raw):
    head = raw[pos:pos + 8]
    (n,) = struct.unpack("<Q", head)
    assert struct.unpack("<I", raw[pos + 8:pos + 12])[0] == masked_crc32c(head)
    data = raw[pos + 12:pos + 12 + n]
    assert struct.unpack("<I", raw[pos + 12 + n:pos + 16 + n])[0] == masked_crc32c(data)
    pos, count = pos + 16 + n, count + 1
  assert pos == len(raw)
  return count


def test_each_step_once_after_three_resumes(tmp_path):
  # Run 1 logs 1..10, checkpoint at 4; run 2 resumes at 4, logs 5..9, checkpoint at 7;
  # run 3 resumes at 7 and logs 8..12; run 4 resumes at 12 (nothing to drop), logs 13.
  _run(tmp_path, range(1, 11), 0.0)
  _run(tmp_path, range(5, 10), 100.0, resume_step=4)
  _run(tmp_path, range(8, 13), 200.0, resume_step=7)
  _run(tmp_path, [13], 300.0, resume_step=12)
  want = {s: (0.0 if s <= 4 else 100.0 if s <= 7 else 200.0 if s <= 12 else 300.0) + s
          for s in range(1, 14)}
  recs = read_jsonl(str(tmp_path / "metrics.jsonl"))
  assert [r["step"] for r in recs] == list(range(1, 14))
  assert {r["step"]: r["train/loss"] for r in recs} == want
  for purge in (False, True):  # the files themselves, and what TensorBoard shows
    scalars = read_event_scalars(str(tmp_path), purge=purge)
    assert sorted(scalars) == ["train/loss", "train/lr"]
    assert scalars["train/loss"] == [(s, want[s]) for s in range(1, 14)]
    assert scalars["train/lr"] == [(s, 0.5 * s) for s in range(1, 14)]
  files = sorted(glob.glob(str(tmp_path / "events.out.tfevents.*")))
  assert len(files) == 4  # one per run, none erased by a writer opened in the same second
  for f in files:
    assert _check_crcs(f) >= 1


def test_without_resume_step_steps_repeat(tmp_path):
  """The check can fail: a resumed writer that is not told the step repeats 5..10."""
  _run(tmp_path, range(1, 11), 0.0)
  _run(tmp_path, range(5, 8), 100.0)
  steps = [r["step"] for r in read_jsonl(str(tmp_path / "metrics.jsonl"))]
  assert steps == list(range(1, 11)) + [5, 6, 7]
  raw = [s for s, _ in read_event_scalars(str(tmp_path), purge=False)["train/loss"]]
  assert raw.count(5) == 2 and raw.count(10) == 1


def test_truncated_tails_are_dropped(tmp_path):
  """A crash mid-write leaves a cut JSON line and a cut event record: both are removed."""
  _run(tmp_path, range(1, 6), 0.0)
  with open(tmp_path / "metrics.jsonl", "a") as f:
    f.write('{"step": 6, "train/lo')
  events = glob.glob(str(tmp_path / "events.out.tfevents.*"))[0]
  whole = os.path.getsize(events)
  with open(events, "ab") as f:
    f.write(struct.pack("<Q", 50) + b"\0\0\0\0" + b"cut")
  _run(tmp_path, [4, 5, 6], 100.0, resume_step=3)
  lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
  assert [json.loads(ln)["step"] for ln in lines] == [1, 2, 3, 4, 5, 6]
  assert os.path.getsize(events) < whole  # steps 4, 5 removed, cut record gone
  _check_crcs(events)
  assert [s for s, _ in read_event_scalars(str(tmp_path), purge=False)["train/loss"]] == [
      1, 2, 3, 4, 5, 6]


def test_disabled_writer_writes_nothing(tmp_path):
  w = MetricWriter(str(tmp_path / "logs"), enabled=False, resume_step=3)
  w.write(1, {"loss": 1.0})
  w.close()
  assert not (tmp_path / "logs").exists()
