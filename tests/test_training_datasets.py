"""srino_jax.training.datasets: from the config's training sources (config.data.sources), the
batches the loop builds, the validation on real held-out blocks, clear errors, and the WV2
scene refused for training (parsing the entries: test_training_sources.py)."""

import pathlib
import shutil

import numpy as np
import pytest

from srino_jax.data.holdout import HoldOut
from srino_jax.data.pipeline import TrainBatches
from srino_jax.data.realscenes import RealScene, RealSceneSource
from srino_jax.data.sources import FileSource, MixedBatches
from srino_jax.training import configfile, datasets, loop

from conftest import REPO, as_run, with_sources as _with_sources

REALDATA = REPO.parent / "shared" / "realdata"




def test_default_config_trains_on_the_single_file(tiny_run):
  assert as_run(tiny_run).sources == ()
  assert datasets.needed_files(as_run(tiny_run)) == ("train", "valid")
  with datasets.train_batches(as_run(tiny_run)) as batches:
    assert isinstance(batches, TrainBatches)
  assert datasets.validation_data(as_run(tiny_run)) is None  # the validation file


def test_file_sources_build_the_weighted_mixed_batches(tiny_run):
  config = _with_sources(tiny_run, {
      "a": {"kind": "file", "path": tiny_run.data.train, "weight": 3.0},
      "b": {"kind": "file", "path": tiny_run.data.valid, "weight": 1.0}}, augment=True)
  assert datasets.needed_files(as_run(config)) == ("train", "valid")
  root = pathlib.Path(config.data.root)
  with datasets.train_batches(as_run(config)) as got, MixedBatches(
      [FileSource(root / config.data.train, "qb", 16), FileSource(root / config.data.valid,
                                                                  "qb", 16)],
      [3.0, 1.0], batch_size=4, seed=config.seed, augment=True) as want:
    np.testing.assert_allclose(got.probabilities, [0.75, 0.25])
    assert (got.batch_size, got.seed, got.augment) == (4, config.seed, True)
    for step in (0, 5):
      for k, v in want.batch(step).items():
        np.testing.assert_array_equal(got.batch(step)[k], v)
    # The weights are respected over many draws: 4000 examples, 3:1.
    share = np.mean(np.concatenate([got.choices(s) for s in range(1000)]) == 0)
    assert abs(share - 0.75) < 0.03
    later = got.batch(9)
  # Resumed: a fresh object (a restarted run) gives batch 9 without batches 0..8.
  with datasets.train_batches(as_run(config)) as again:
    for k, v in later.items():
      np.testing.assert_array_equal(again.batch(9)[k], v)


def test_missing_real_scene_names_the_folder_and_the_flag(tiny_run, tmp_path):
  config = _with_sources(tiny_run, {"g": {"kind": "real", "scene": "geoeye1"}},
                         realdata=str(tmp_path))
  with pytest.raises(FileNotFoundError, match=f"{tmp_path}/grip_imgGE1.mat not found.*"
                     "--config.data.realdata="):
    loop.prepare_data(as_run(config))


@pytest.mark.parametrize("scene", ["wv2", "WV2", "pypansharpening_imgWV2.mat",
                                   "/anywhere/pypansharpening_imgWV2.mat"])
def test_no_wv2_source_can_be_configured(tiny_run, tmp_path, scene):
  config = _with_sources(tiny_run, {"w": {"kind": "real", "scene": scene}},
                         realdata=str(tmp_path))
  for call in (loop.prepare_data, datasets.check_sources, datasets.train_batches):
    with pytest.raises(ValueError, match="evaluation only"):
      call(as_run(config))


def _realdata():
  if not (REALDATA / "grip_imgGE1.mat").is_file():
    pytest.skip(f"real scenes not found in {REALDATA} (../shared/realdata)")
  return REALDATA


def test_a_renamed_copy_of_wv2_is_refused(tiny_run, tmp_path):
  src = _realdata() / "pypansharpening_imgWV2.mat"
  if not src.is_file():
    pytest.skip(f"{src} not found")
  shutil.copy(src, tmp_path / "innocent.mat")  # a temporary copy, outside the repository
  config = _with_sources(tiny_run, {"w": {"kind": "real", "scene": str(tmp_path / "innocent.mat")}})
  with pytest.raises(ValueError, match="copy of the evaluation-only"):
    loop.prepare_data(as_run(config))


def test_real4_trains_on_the_training_parts_and_validates_on_the_held_out_blocks():
  root = _realdata()
  config = configfile.load_config(str(REPO / "configs" / "real4.py"),
                                  [f"data.realdata={root}"])
  assert datasets.needed_files(as_run(config)) == ()
  cache = {}
  with datasets.train_batches(as_run(config), cache) as batches:
    assert [type(s) for s in batches.sources] == [RealSceneSource] * 2
    assert [s.scene.holdout for s in batches.sources] == [HoldOut(0.25, "bottom", 0.5)] * 2
    assert batches.augment and batches.batch(0)["gt"].shape == (8, 32, 32, 4)
  data = datasets.validation_data(as_run(config), cache)
  assert data["gt"].shape == (20, 32, 32, 4)
  # Tiles of each scene's validation part (the left half of its held-out block, reduced on
  # its own: 80 x 160 on the reduced PAN grid, 2 x 5 tiles), alternating scenes, by hand.
  ge1 = RealScene("geoeye1", root, HoldOut(0.25, "bottom", 0.5))
  ik = cache["ikonos"]
  for i, (scene, j) in enumerate([(ge1, 0), (ik, 0), (ge1, 6), (ik, 6)]):
    valid = scene.parts["valid"]["reduced"]
    assert valid["gt"].shape == (80, 160, 4)
    y, x = divmod(j if i < 2 else 6, 5)
    np.testing.assert_array_equal(data["gt"][i if i < 2 else 12 + i - 2],
                                  valid["gt"][32 * y:32 * y + 32, 32 * x:32 * x + 32])
  # No test pixel: the test part's tiles appear nowhere in the validation data.
  test_gt = ge1.parts["test"]["reduced"]["gt"][:32, :32]
  assert not any(np.array_equal(test_gt, t) for t in data["gt"])
