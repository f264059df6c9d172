"""Keras's built-in sets through the real loaders, with only the download step substituted."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from engine.datasets import DatasetError, load_dataset, suggest_head
from engine.datasets.base import Batches


def _fit_once(dataset, batch_size=16):
    head = suggest_head(dataset)
    model = keras.Sequential(
        [
            keras.Input(dataset.input_shape),
            keras.layers.Flatten(),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.deserialize(head.output_layer),
        ]
    )
    model.compile(optimizer="adam", loss=head.loss, metrics=head.metrics)
    history = model.fit(**dataset.fit_arguments(batch_size, True, 1), epochs=1, verbose=0)
    scores = model.evaluate(**dataset.evaluate_arguments(batch_size), verbose=0, return_dict=True)
    return history, scores


def test_mnist_scaled_images_split_and_trainable(fake_download):
    calls = fake_download("mnist")
    dataset = load_dataset({"source": "keras", "name": "mnist"}, validation_split=0.25)
    assert calls[0][0] == "mnist.npz"
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (30, 10, 10)
    assert dataset.input_shape == (28, 28, 1)
    assert dataset.task == "multiclass" and dataset.num_classes == 10
    assert dataset.class_names == [str(d) for d in range(10)]
    x = dataset.fit_arguments(8, False, 0)["x"]
    assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
    assert dataset.samples[0].kind == "image" and dataset.samples[0].value.dtype == np.uint8
    assert "30 train" in dataset.description and "10 classes" in dataset.description
    history, scores = _fit_once(dataset)
    assert "val_loss" in history.history and "accuracy" in scores
    x_test, _y_test = dataset.test_arrays(limit=4)
    shown = dataset.describe_input(x_test[0])
    assert shown.kind == "image" and shown.value.shape == (28, 28, 1)
    encoded = dataset.encode_inputs(shown.value[..., 0])
    np.testing.assert_allclose(encoded[0], x_test[0], atol=1 / 255)


def test_mnist_flattened(fake_download):
    fake_download("mnist")
    dataset = load_dataset({"source": "keras", "name": "mnist", "flatten": True})
    assert dataset.input_shape == (784,)
    assert dataset.test_arrays()[0].shape == (10, 784)


def test_fashion_mnist_reads_idx_files(fake_download):
    calls = fake_download("fashion_mnist")
    dataset = load_dataset({"source": "keras", "name": "fashion_mnist"})
    assert len(calls) == 4 and all(c[1]["cache_subdir"] == "datasets/fashion-mnist" for c in calls)
    assert dataset.train_size == 30 and dataset.test_size == 10
    assert dataset.class_names[9] == "Ankle boot"
    np.testing.assert_allclose(dataset.test_arrays(1)[0], 9 / 255, rtol=1e-6)


def test_cifar10_tar_layout_stays_uint8_and_feeds_batches(fake_download):
    fake_download("cifar10")
    dataset = load_dataset({"source": "keras", "name": "cifar10"}, validation_split=0.1)
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (45000, 5000, 10000)
    assert dataset.input_shape == (32, 32, 3)
    assert dataset.class_names[0] == "airplane"
    args = dataset.fit_arguments(256, True, 0)
    # 50,000 float32 images would be 614 MB: they stay uint8 and are scaled per batch.
    assert isinstance(args["x"], Batches)
    x, _y = args["x"][0]
    assert x.dtype == np.float32 and x.shape == (256, 32, 32, 3)
    np.testing.assert_allclose(x[0, 0, 0], [200 / 255, 0, 0], rtol=1e-6)
    # The 5,000 validation images fit in 61 MB as float32: held as one array.
    val_x, _ = args["validation_data"]
    assert val_x.dtype == np.float32 and val_x.shape == (5000, 32, 32, 3)


def test_cifar100_label_modes_and_names(fake_download):
    fake_download("cifar100")
    fine = load_dataset({"source": "keras", "name": "cifar100"})
    coarse = load_dataset({"source": "keras", "name": "cifar100", "label_mode": "coarse"})
    assert fine.num_classes == 100 and fine.class_names[3] == "fine3"
    assert coarse.num_classes == 20 and coarse.class_names[19] == "coarse19"


def test_imdb_multi_hot_per_batch_with_decoded_samples(fake_download):
    fake_download("imdb")
    dataset = load_dataset(
        {"source": "keras", "name": "imdb", "num_words": 12}, validation_split=0.25
    )
    assert dataset.task == "binary" and dataset.class_names == ["negative", "positive"]
    assert dataset.input_shape == (12,) and dataset.dtype == "float32"
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (30, 10, 20)
    assert dataset.vocabulary[:5] == ["<pad>", "<start>", "<oov>", "<unused>", "the"]
    text = dataset.samples[0].value
    assert set(text.split()) <= set(WORDS_SEEN) and "the" in text.split()
    args = dataset.fit_arguments(8, True, 0)
    batch, labels = (t.numpy() for t in next(iter(args["x"])))
    assert batch.shape == (8, 12) and batch.dtype == np.float32
    assert set(np.unique(batch)) <= {0.0, 1.0} and labels.shape == (8,)
    assert (batch[:, 1] == 1).all()  # the start token
    # The tf.data multi-hot equals the numpy one used by test_arrays.
    test_batch = next(iter(dataset.evaluate_arguments(20)["x"]))[0].numpy()
    np.testing.assert_array_equal(test_batch, dataset.test_arrays()[0])
    encoded = dataset.encode_inputs("The movie was GREAT, love it")
    assert encoded.shape == (1, 12)
    # start token, out-of-vocabulary ("it", and "love" beyond num_words), the movie was great
    assert np.flatnonzero(encoded[0]).tolist() == [1, 2, 4, 5, 6, 7]
    _fit_once(dataset)


WORDS_SEEN = ["the", "movie", "was", "great", "bad", "boring", "love", "?"]


def test_imdb_sequences_padded(fake_download):
    fake_download("imdb")
    dataset = load_dataset(
        {"source": "keras", "name": "imdb", "encoding": "sequences", "sequence_length": 8},
        loss="binary_crossentropy",
    )
    x, y = dataset.test_arrays()
    assert x.shape == (20, 8) and x.dtype == np.int32
    assert (x[:, :2] == 0).all() and (x[:, 2] == 1).all()  # pre-padding, then the start token
    assert y.dtype == np.float32 and dataset.label_encoding == "binary"
    assert "the" in dataset.describe_input(x[0]).value.split()


def test_imdb_maxlen_that_keeps_nothing(fake_download):
    fake_download("imdb")
    with pytest.raises(DatasetError, match="maxlen"):
        load_dataset({"source": "keras", "name": "imdb", "maxlen": 2})


def test_reuters_topics(fake_download):
    fake_download("reuters")
    dataset = load_dataset(
        {"source": "keras", "name": "reuters", "num_words": 10, "test_split": 0.2},
        loss="categorical_crossentropy",
    )
    assert dataset.task == "multiclass" and len(dataset.class_names) == 46
    assert dataset.class_names[:2] == ["cocoa", "grain"]
    assert (dataset.train_size, dataset.test_size) == (40, 10)
    _, y = dataset.test_arrays()
    assert y.shape == (10, 46) and dataset.label_encoding == "one_hot"
    assert suggest_head(dataset).loss == "categorical_crossentropy"


def test_boston_housing_z_scored_regression(fake_download):
    fake_download("boston_housing")
    dataset = load_dataset({"source": "keras", "name": "boston_housing"}, validation_split=0.25)
    assert dataset.task == "regression" and dataset.input_shape == (13,)
    x = dataset.fit_arguments(8, True, 0)["x"]
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-4)
    head = suggest_head(dataset)
    assert head.loss == "mean_squared_error" and head.metrics == ["mean_absolute_error"]
    assert head.output_layer["config"]["units"] == 1
    x_test, _ = dataset.test_arrays(1)
    row = dataset.describe_input(x_test[0]).value
    assert set(row) >= {"CRIM", "LSTAT"}
    np.testing.assert_allclose(dataset.encode_inputs(row), x_test[:1], atol=1e-5)
    with pytest.raises(DatasetError, match="regression"):
        load_dataset({"source": "keras", "name": "boston_housing"}, loss="binary_crossentropy")
