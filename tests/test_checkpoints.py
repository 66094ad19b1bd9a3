"""Stage checkpoints: exact round trips, last few and best kept, parameters read alone."""

import errno
import glob
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from _toy_state import toy_batch as _batch, toy_loss as _loss, toy_params as _params
from conftest import paper_optimizer
from srino_jax import checkpoints, cli
from srino_jax.errors import WRITE_ERRNOS, CheckpointError, OutputError
from srino_jax.training.state import TrainState, make_train_step


def test_checkpoint_round_trip_is_exact(tmp_path):
  tx = paper_optimizer("stage1", learning_rate=1e-2)
  step = make_train_step(_loss, tx)
  state = TrainState.create(_params(), tx)
  for i in range(2):
    state, _ = step(state, _batch(), jax.random.PRNGKey(i))
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "stage1"), keep=2)
  ckpts.save(2, state, {"stage": "stage1", "step": 2})
  ckpts.close()
  template = TrainState.create(_params(key=7), tx)  # different values, same structure
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "stage1"), keep=2)
  restored, meta = ckpts.restore(template)
  ckpts.close()
  assert meta == {"stage": "stage1", "step": 2}
  assert jax.tree.structure(restored) == jax.tree.structure(state)
  for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_keeps_last_few_and_the_best(tmp_path):
  tx = paper_optimizer("stage1")
  state = TrainState.create(_params(), tx)
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "s"), keep=2, best_mode="max")
  for step, score in [(1, 0.5), (2, 0.9), (3, 0.7), (4, 0.6)]:
    ckpts.save(step, state, {"step": step}, score=score)
  ckpts.wait()
  assert ckpts.latest_step() == 4
  assert ckpts.best_step() == 2
  assert sorted(ckpts._last.all_steps()) == [3, 4]
  ckpts.close()


def test_missing_checkpoint_is_a_clear_error(tmp_path):
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "none"))
  with pytest.raises(FileNotFoundError, match="no checkpoint"):
    ckpts.restore(TrainState.create(_params(), paper_optimizer("stage1")))
  ckpts.close()


def test_restore_params_reads_the_parameters_alone(tmp_path):
  tx = paper_optimizer("stage1", learning_rate=1e-2, grad_clip=1.0)
  step = make_train_step(_loss, tx)
  state = TrainState.create(_params(), tx)
  for i in range(3):
    state, _ = step(state, _batch(), jax.random.PRNGKey(i))
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "s"), keep=2, best_mode="min")
  ckpts.save(3, state, {"step": 3}, score=0.5)
  ckpts.close()
  # No optimizer needed: a template of the parameters (or of some groups) is enough.
  abstract = jax.eval_shape(lambda: _params(key=7))
  for which in ("last", "best"):
    got = checkpoints.restore_params(str(tmp_path / "s"), abstract, which=which)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(state.params)):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  part = checkpoints.restore_params(str(tmp_path / "s"), {"tga": abstract["tga"]})
  assert set(part) == {"tga"}
  np.testing.assert_array_equal(np.asarray(part["tga"]["w"]), np.asarray(state.params["tga"]["w"]))
  with pytest.raises(FileNotFoundError, match="at step 2"):
    checkpoints.restore_params(str(tmp_path / "s"), abstract, step=2)
  with pytest.raises(FileNotFoundError, match="no checkpoint"):
    checkpoints.restore_params(str(tmp_path / "none"), abstract)


def _damage(directory, which, step):
  """Removes the array files of a saved step (as a crash or a full disk leaves them)."""
  # Small states keep their arrays in state/d/, larger ones in state/ocdbt.process_0/d/.
  files = glob.glob(os.path.join(directory, which, str(step), "state", "**", "d", "*"),
                    recursive=True)
  assert files
  for f in files:
    os.remove(f)


def _same(a, b):
  return all(np.array_equal(np.asarray(x), np.asarray(y))
             for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_a_damaged_latest_falls_back_to_the_newest_intact_step(tmp_path):
  """Both readers skip damaged steps newest first, with one warning attributed to their
  caller; training's restore moves the damaged step aside, restore_params only reads."""
  directory = str(tmp_path / "s")
  tx = paper_optimizer("stage1")
  states = {s: TrainState.create(_params(key=s), tx) for s in (1, 2, 3)}
  ckpts = checkpoints.StageCheckpoints(directory, keep=3)
  for s, state in states.items():
    ckpts.save(s, state, {"step": s})
  ckpts.close()
  _damage(directory, "last", 3)
  abstract = jax.eval_shape(lambda: _params())
  with pytest.warns(RuntimeWarning) as record:
    params = checkpoints.restore_params(directory, abstract)
  assert len(record) == 1 and record[0].filename == __file__
  text = str(record[0].message)
  assert "checkpoint step 3" in text and "using step 2, the newest intact one" in text
  assert "Moved aside" not in text and os.path.isdir(os.path.join(directory, "last", "3"))
  assert _same(params, states[2].params) and not _same(params, states[3].params)

  ckpts = checkpoints.StageCheckpoints(directory, keep=3)
  with pytest.warns(RuntimeWarning) as record:
    state, meta = ckpts.restore(TrainState.create(_params(), tx))
  assert len(record) == 1 and record[0].filename == __file__
  text = str(record[0].message)
  moved = os.path.join(directory, "damaged", "last-3")
  assert "checkpoint step 3" in text and "resuming from step 2, the newest intact one" in text
  assert f"Moved aside, not deleted: {moved}" in text
  assert os.path.isdir(moved) and not os.path.exists(os.path.join(directory, "last", "3"))
  assert meta == {"step": 2} and _same(state.params, states[2].params)

  for s in (2, 1):
    _damage(directory, "last", s)
  with pytest.raises(CheckpointError, match=r"no intact checkpoint in .*step 2: .*; step 1: "):
    ckpts.restore(TrainState.create(_params(), tx))
  ckpts.close()
  with pytest.raises(CheckpointError, match=r"cannot read the checkpoint in .*step 2: .*step 1"):
    checkpoints.restore_params(directory, abstract)


@pytest.mark.parametrize("code", sorted(WRITE_ERRNOS))
def test_a_failed_save_uses_the_common_write_error_words(tmp_path, monkeypatch, code):
  """One errno table (srino_jax.errors): a checkpoint save and the CLI word it alike."""
  what, _ = WRITE_ERRNOS[code]
  ckpts = checkpoints.StageCheckpoints(str(tmp_path / "s"))

  def fail(*args, **kwargs):
    raise OSError(code, os.strerror(code))

  monkeypatch.setattr(ckpts._last, "save", fail)
  with pytest.raises(OutputError) as info:
    ckpts.save(1, {"w": jnp.zeros(2)}, {"step": 1})
  ckpts.close()
  assert str(info.value).startswith(f"{what} while saving a checkpoint in ")
  assert cli.message_of(OSError(code, os.strerror(code), "t.csv")).startswith(
      f"error: {what} writing t.csv. ")
  tensorstore = ValueError(f"Failed writing: [os_error_code='{code}']")
  assert checkpoints.write_errno(tensorstore) == code
  assert checkpoints.write_errno(OSError(errno.ENOENT, "gone")) is None
