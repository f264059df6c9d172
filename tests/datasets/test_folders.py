"""Image and text folders: layouts, stored vocabulary, and files that are not what they claim."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

from engine.datasets import DatasetError, load_dataset, suggest_head
from engine.datasets import build as build_module
from engine.datasets.base import Batches
from engine.datasets.image_folder import ImageFileStore


def _image(path, colour, size=(12, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


@pytest.fixture
def shapes(tmp_path):
    root = tmp_path / "shapes"
    for i in range(6):
        _image(root / "red" / f"r{i}.png", (255, 0, 0))
        _image(root / "blue" / f"b{i}.jpg", (0, 0, 255))
    return root


def _images(root, **fields):
    block = {"source": "image_folder", "path": str(root), "image_size": [8, 8]}
    block.update(fields)
    return block


def test_image_folder_classes_sizes_and_training(shapes):
    dataset = load_dataset(_images(shapes, test_split=0.25), validation_split=0.25)
    assert dataset.class_names == ["blue", "red"] and dataset.task == "binary"
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (7, 2, 3)
    assert dataset.input_shape == (8, 8, 3)
    x, y = dataset.test_arrays()
    for image, label in zip(x, y, strict=True):
        expected = [1.0, 0.0, 0.0] if dataset.class_names[label] == "red" else [0.0, 0.0, 1.0]
        np.testing.assert_allclose(image[4, 4], expected, atol=0.02)
    assert dataset.samples[0].value.dtype == np.uint8
    head = suggest_head(dataset)
    model = keras.Sequential(
        [keras.Input(dataset.input_shape), keras.layers.Flatten(), keras.layers.Dense(1, "sigmoid")]
    )
    model.compile(optimizer="adam", loss=head.loss, metrics=head.metrics)
    model.fit(**dataset.fit_arguments(4, True, 0), epochs=1, verbose=0)
    new = dataset.encode_inputs(shapes / "red" / "r0.png")
    assert new.shape == (1, 8, 8, 3)
    np.testing.assert_allclose(new[0, 0, 0], [1, 0, 0], atol=0.02)


def test_grayscale_and_train_validation_test_folders(tmp_path):
    root = tmp_path / "split"
    for part, n in (("train", 4), ("validation", 2), ("test", 2)):
        for cls, shade in (("dark", 20), ("light", 230), ("mid", 128)):
            for i in range(n):
                _image(root / part / cls / f"{i}.png", (shade, shade, shade))
    dataset = load_dataset(_images(root, color_mode="grayscale"), validation_split=0.5)
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (12, 6, 6)
    assert dataset.input_shape == (8, 8, 1) and dataset.task == "multiclass"


def test_large_image_sets_are_read_per_batch(shapes, monkeypatch):
    monkeypatch.setattr(build_module, "MATERIALISE_LIMIT_BYTES", 100)
    monkeypatch.setattr("engine.datasets.image_folder.MATERIALISE_LIMIT_BYTES", 100)
    dataset = load_dataset(_images(shapes))
    assert isinstance(dataset.parts["train"].x, ImageFileStore)
    feed = dataset.fit_arguments(5, True, 0)["x"]
    assert isinstance(feed, Batches)
    batch, labels = feed[0]
    assert batch.shape == (5, 8, 8, 3) and batch.dtype == np.float32 and len(labels) == 5


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg", "not a readable image"),
        ("empty.png", b"", r"empty, 0 bytes"),
        ("notes.txt", b"remember the milk", "not one of the image files"),
    ],
)
def test_bad_image_file_is_named(shapes, name, content, match):
    bad = shapes / "red" / name
    bad.write_bytes(content)
    with pytest.raises(DatasetError, match=match) as caught:
        load_dataset(_images(shapes))
    assert str(bad) in str(caught.value)


def test_truncated_image_is_named(shapes):
    bad = shapes / "blue" / "cut.png"
    good = (shapes / "red" / "r0.png").read_bytes()
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match=r"cut\.png is not a readable image"):
        load_dataset(_images(shapes))


def test_folder_without_class_subfolders(tmp_path):
    root = tmp_path / "flat"
    _image(root / "a.png", (1, 2, 3))
    with pytest.raises(DatasetError, match="has no class sub-folders"):
        load_dataset(_images(root))
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(_images(tmp_path / "missing"))


def test_single_class_folder(tmp_path):
    _image(tmp_path / "only" / "cats" / "a.png", (1, 2, 3))
    with pytest.raises(DatasetError, match=r"single class sub-folder \(cats\)"):
        load_dataset(_images(tmp_path / "only"))


@pytest.fixture
def reviews(tmp_path):
    """The aclImdb layout: train/{neg,pos,unsup}, test/{neg,pos}, and loose files."""
    root = tmp_path / "aclImdb"
    good = ["a great film, I loved it", "wonderful acting and a great plot", "great fun"]
    bad = ["a boring film, I hated it", "terrible acting and a dull plot", "boring and dull"]
    for part in ("train", "test"):
        for label, texts in (("pos", good), ("neg", bad)):
            folder = root / part / label
            folder.mkdir(parents=True)
            for i, text in enumerate(texts * 2):
                (folder / f"{i}_{part}.txt").write_text(f"{text} {i}")
    (root / "train" / "unsup").mkdir()
    (root / "train" / "unsup" / "0_0.txt").write_text("no label here")
    (root / "train" / "labeledBow.feat").write_text("0 1:2")
    return root


def test_text_folder_aclimdb_layout_multi_hot(reviews):
    block = {"source": "text_folder", "path": str(reviews), "max_tokens": 50}
    dataset = load_dataset(block, validation_split=0.25)
    assert dataset.class_names == ["neg", "pos"] and dataset.task == "binary"
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (9, 3, 12)
    assert "Left out (no matching test folder): unsup" in dataset.description
    assert dataset.vocabulary[0] == "[UNK]" and "great" in dataset.vocabulary
    assert dataset.input_shape == (len(dataset.vocabulary),)
    feed = dataset.fit_arguments(4, True, 0)["x"]
    batch, labels = next(iter(feed))
    assert batch.dtype == "float32" and batch.shape == (4, len(dataset.vocabulary))
    assert set(np.unique(batch.numpy())) <= {0.0, 1.0} and labels.shape == (4,)
    assert sum(int(b.shape[0]) for b, _ in feed) == dataset.train_size
    # The tf.data pipeline and test_arrays vectorise alike.
    unshuffled = next(iter(dataset.evaluate_arguments(12)["x"]))[0].numpy()
    np.testing.assert_array_equal(unshuffled, dataset.test_arrays()[0])
    assert dataset.samples[0].kind == "text" and dataset.samples[0].label in ("neg", "pos")
    encoded = dataset.encode_inputs("GREAT plot")
    words = dataset.describe_input(encoded[0]).value
    assert "great" in words and "plot" in words


def test_text_folder_vocabulary_round_trips_through_the_block(reviews):
    block = {
        "source": "text_folder",
        "path": str(reviews),
        "output_mode": "int",
        "sequence_length": 6,
    }
    first = load_dataset(block)
    x, _ = first.test_arrays(limit=2)
    assert x.shape == (2, 6) and x.dtype == np.int32
    # A stored vocabulary in a different order is used as is (not re-learned).
    stored = [first.vocabulary[0], first.vocabulary[1], *reversed(first.vocabulary[2:])]
    again = load_dataset({**block, "vocabulary": stored})
    assert again.vocabulary == stored
    assert first.encode_inputs("great film").tolist() != again.encode_inputs("great film").tolist()
    assert again.describe_input(again.encode_inputs("great film")[0]).value == "great film"


def test_text_folder_tf_idf_with_a_stored_vocabulary_matches_adapt(reviews):
    block = {"source": "text_folder", "path": str(reviews), "output_mode": "tf_idf"}
    learned = load_dataset(block)
    restored = load_dataset({**block, "vocabulary": learned.vocabulary})
    np.testing.assert_allclose(
        restored.encode_inputs(["great dull film"]),
        learned.encode_inputs(["great dull film"]),
        rtol=1e-5,
    )


def test_text_folder_without_class_subfolders(tmp_path):
    root = tmp_path / "loose"
    root.mkdir()
    (root / "a.txt").write_text("hello")
    with pytest.raises(DatasetError, match="has no class sub-folders") as caught:
        load_dataset({"source": "text_folder", "path": str(root)})
    assert "one sub-folder per class" in str(caught.value)


def test_text_folder_non_utf8_file_is_read_and_reported(reviews):
    (reviews / "train" / "pos" / "latin.txt").write_bytes("très bien".encode("latin-1"))
    dataset = load_dataset({"source": "text_folder", "path": str(reviews)})
    assert "1 file(s) were not valid UTF-8" in dataset.description
