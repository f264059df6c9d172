"""The cheap input-shape probe agrees with the real loader, source by source (issue 9, defect 2).

The window shows the Input row and parameter counts from ``input_signature`` the moment a
dataset is chosen; these tests load each fixture with ``load_dataset`` and check the probe
predicted exactly the loaded shape (or said plainly that it could not know).
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from engine import spec as S
from engine.datasets import load_dataset
from engine.datasets.head import apply_head, suggest_head, target_shape
from engine.datasets.probe import input_signature


def _agrees(block: dict, validation_split: float = 0.0):
    probe = input_signature(block, validation_split)
    dataset = load_dataset(block, validation_split=validation_split)
    assert probe.ok, probe.reason
    assert probe.input_shape == dataset.input_shape, block
    if probe.task is not None:
        assert probe.task == dataset.task
    if probe.num_classes is not None:
        assert probe.num_classes == dataset.num_classes
    if probe.target_shape is not None:
        # The suggested head on a plain stack passes analyse's check against the probe's
        # label shape (and against the loaded labels' own shape).
        model, _ = apply_head(S.new_spec(), suggest_head(dataset, S.new_spec()))
        assert S.analyse(model, probe.input_shape, probe.target_shape).ok, probe
        assert S.analyse(model, probe.input_shape, target_shape(dataset)).ok
    return probe, dataset


@pytest.mark.parametrize("name", ["digits", "iris", "wine", "breast_cancer", "diabetes"])
def test_samples(name):
    _agrees({"source": "sample", "name": name})


@pytest.mark.parametrize(
    "name, fields",
    [
        ("mnist", {}),
        ("mnist", {"flatten": True}),
        ("fashion_mnist", {}),
        ("cifar100", {"label_mode": "coarse"}),
        ("cifar100", {"flatten": True}),
        ("imdb", {"num_words": 20}),
        ("imdb", {"encoding": "sequences", "sequence_length": 7}),
        ("reuters", {"num_words": 30}),
        ("boston_housing", {}),
    ],
)
def test_keras_builtins(fake_download, name, fields):
    fake_download(name)
    _agrees({"source": "keras", "name": name, **fields})


def test_multi_hot_without_num_words_is_unknown_not_wrong():
    probe = input_signature({"source": "keras", "name": "imdb", "num_words": 0})
    assert probe.input_shape is None and "num_words" in probe.reason
    assert probe.reason[0].isupper()


def _fruit(path, n=40, rare_at=None):
    colours = ["red", "green", "blue"]
    lines = ["size,colour,weight,kind"]
    for i in range(n):
        colour = "purple" if i == rare_at else colours[i % 3]
        lines.append(f"{1.0 + i * 0.5},{colour},{10 + (i * 7) % 13},{('apple', 'pear')[i % 2]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_numeric_columns(tmp_path):
    path = tmp_path / "wide.csv"
    rng = np.random.default_rng(0)
    header = ",".join([f"f{i}" for i in range(30)] + ["label"])
    rows = [",".join(f"{v:.3f}" for v in rng.normal(size=30)) + f",{i % 2}" for i in range(50)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    probe, _ = _agrees({"source": "csv", "path": str(path), "target": "label"})
    assert probe.input_shape == (30,)
    _agrees({"source": "csv", "path": str(path), "target": "label", "features": ["f1", "f2"]})
    several, _ = _agrees({"source": "csv", "path": str(path), "target": ["f0", "f1"]})
    assert several.input_shape == (29,) and several.target_shape == (2,)
    assert several.task == "regression"


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("validation_split", [0.0, 0.3])
def test_csv_one_hot_width_follows_the_training_rows(tmp_path, seed, validation_split):
    # One row has a colour of its own: whether it is a training row decides the width.
    path = _fruit(tmp_path / "fruit.csv", rare_at=7)
    block = {"source": "csv", "path": str(path), "target": "kind", "seed": seed}
    _agrees({**block, "test_split": 0.25}, validation_split)


def test_csv_missing_values_and_separate_test_file(tmp_path):
    path = _fruit(tmp_path / "fruit.csv", rare_at=3)
    text = path.read_text().splitlines()
    text[4] = text[4].replace("purple", "")  # the rare colour's row loses its value
    path.write_text("\n".join(text) + "\n")
    test = _fruit(tmp_path / "test.csv", n=10)
    block = {"source": "csv", "path": str(path), "target": "kind"}
    _agrees({**block, "missing": "impute"})
    _agrees({**block, "missing": "drop_rows", "test_path": str(test)}, 0.2)
    refused = input_signature(block)
    assert refused.input_shape is None and refused.reason


def test_csv_bad_settings_give_a_reason(tmp_path):
    path = _fruit(tmp_path / "fruit.csv")
    for block in (
        {"source": "csv", "path": str(path), "target": "nope"},
        {"source": "csv", "path": str(tmp_path / "gone.csv"), "target": "kind"},
        {"source": "csv", "path": str(path), "target": "kind", "max_categories": 2},
        {"source": "csv", "path": str(tmp_path), "target": "kind"},
        {"source": "csv", "path": 3, "target": "kind"},
        {"source": "nowhere"},
        "not a block",
    ):
        probe = input_signature(block)
        assert probe.input_shape is None and probe.reason and probe.reason[0].isupper()


@pytest.fixture
def climate(tmp_path):
    t = np.arange(300)
    lines = ["Date Time,p (mbar),T (degC),station"]
    lines += [
        f"01.01.2009 {i:05d},{1000 + i * 0.1:.2f},{10 + 5 * np.sin(i / 20):.4f},north" for i in t
    ]
    path = tmp_path / "climate.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "fields",
    [
        {"lookback": 30, "step": 3, "delay": 6},
        {"lookback": 40, "step": 1, "delay": 1},
        {"lookback": 31, "step": 4, "delay": 0, "features": ["T (degC)"]},
    ],
)
def test_timeseries_window_by_features(climate, fields):
    block = {"source": "timeseries", "path": str(climate), "target": "T (degC)", **fields}
    _agrees(block)


def test_timeseries_too_short_is_unknown(climate):
    block = {"source": "timeseries", "path": str(climate), "target": "T (degC)"}
    probe = input_signature(block)  # default lookback 1440 on 300 rows
    assert probe.input_shape is None and "lookback" in probe.reason


def test_npz(tmp_path):
    path = tmp_path / "own.npz"
    rng = np.random.default_rng(0)
    np.savez_compressed(
        path,
        x_train=rng.normal(size=(30, 8)),
        y_train=np.arange(30) % 3,
        x_test=rng.normal(size=(6, 8)),
        y_test=np.arange(6) % 3,
    )
    probe, _ = _agrees({"source": "npz", "path": str(path)}, 0.2)
    assert probe.input_shape == (8,)
    images = tmp_path / "images.npz"
    np.savez(images, x_train=np.zeros((12, 5, 4, 3), "uint8"), y_train=rng.normal(size=12))
    _agrees({"source": "npz", "path": str(images)})
    one_hot = tmp_path / "one_hot.npz"
    np.savez(one_hot, x_train=rng.normal(size=(12, 3)), y_train=np.eye(4)[np.arange(12) % 4])
    probe, _ = _agrees({"source": "npz", "path": str(one_hot)})
    assert probe.target_shape == (4,)
    ragged = tmp_path / "ragged.npz"
    objects = np.empty(2, dtype=object)
    objects[:] = [[1, 2], [3]]
    np.savez(ragged, x_train=objects, y_train=np.arange(2))
    assert input_signature({"source": "npz", "path": str(ragged)}).input_shape is None
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    assert input_signature({"source": "npz", "path": str(junk)}).input_shape is None


@pytest.fixture
def shapes(tmp_path):
    root = tmp_path / "shapes"
    for i in range(4):
        for name, colour in (("red", (255, 0, 0)), ("blue", (0, 0, 255)), ("grey", (9, 9, 9))):
            (root / name).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (12, 10), colour).save(root / name / f"{i}.png")
    return root


@pytest.mark.parametrize(
    "fields", [{"image_size": [8, 6]}, {"image_size": [5, 5], "color_mode": "grayscale"}]
)
def test_image_folder(shapes, fields):
    _agrees({"source": "image_folder", "path": str(shapes), **fields})


@pytest.fixture
def reviews(tmp_path):
    root = tmp_path / "reviews"
    words = {"pos": "great fun love", "neg": "bad boring plot"}
    for label, text in words.items():
        (root / label).mkdir(parents=True)
        for i in range(6):
            (root / label / f"{i}.txt").write_text(f"the movie {text} {i}")
    return root


def test_text_folder(reviews):
    block = {"source": "text_folder", "path": str(reviews)}
    _agrees({**block, "output_mode": "int", "sequence_length": 9})
    learned = input_signature(block)
    assert learned.input_shape is None and "vocabulary" in learned.reason
    loaded = load_dataset(block)
    _agrees({**block, "vocabulary": loaded.vocabulary})


def test_probe_is_fast_and_never_imports_keras(tmp_path):
    path = _fruit(tmp_path / "fruit.csv")
    code = (
        "import sys, time\n"
        "from engine.datasets.probe import input_signature\n"
        f"block = {{'source': 'csv', 'path': {str(path)!r}, 'target': 'kind'}}\n"
        "start = time.perf_counter()\n"
        "result = input_signature(block)\n"
        "input_signature({'source': 'sample', 'name': 'wine'})\n"
        "elapsed = time.perf_counter() - start\n"
        "assert result.input_shape == (5,), result\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules\n"
        "assert 'pandas' not in sys.modules\n"
        "print(elapsed)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip()) < 0.05
    start = time.perf_counter()
    for _ in range(20):
        input_signature({"source": "csv", "path": str(path), "target": "kind"})
    assert time.perf_counter() - start < 0.2  # cached by file stamp


def test_large_csv_is_judged_on_its_first_rows(tmp_path, monkeypatch):
    from engine.datasets import probe as probe_module

    monkeypatch.setattr(probe_module, "_SCAN_BYTES", 600)
    monkeypatch.setattr(probe_module, "_TABLES", type(probe_module._TABLES)())
    path = _fruit(tmp_path / "fruit.csv", n=60)
    numeric = {"source": "csv", "path": str(path), "target": "kind", "features": ["size"]}
    probe, _ = _agrees(numeric)
    assert not probe.exact
    text = input_signature({"source": "csv", "path": str(path), "target": "kind"})
    assert text.input_shape is None and "large" in text.reason
    series = tmp_path / "series.csv"
    series.write_text("a,b\n" + "".join(f"{i},{i % 7}\n" for i in range(200)))
    block = {"source": "timeseries", "path": str(series), "target": "b", "lookback": 6}
    block.update(step=2, delay=1)
    probe, _ = _agrees(block)
    assert probe.input_shape == (3, 2) and not probe.exact
