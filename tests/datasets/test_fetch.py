"""Offline sets, damaged cache files, bounded and reported downloads — with no network at all."""

from __future__ import annotations

import socket

import pytest
from keras.src.datasets import mnist as mnist_module
from keras.src.utils import file_utils

from engine.datasets import DatasetError, cache_dir, load_dataset
from engine.datasets.fetch import DOWNLOAD_TIMEOUT_S


def test_cache_dir_follows_keras_home(keras_home):
    assert cache_dir() == keras_home / "datasets"


def test_offline_set_names_the_file_to_put_where(keras_home, no_network):
    with pytest.raises(DatasetError) as caught:
        load_dataset({"source": "keras", "name": "mnist"})
    message = str(caught.value)
    assert "mnist" in message and "could not be downloaded" in message
    assert str(keras_home / "datasets" / "mnist.npz") in message
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in message
    assert len(no_network) == 1  # one bounded attempt, no retry loop


def test_offline_when_get_file_raises_like_keras(monkeypatch):
    def get_file(fname=None, origin=None, **kwargs):
        raise Exception(  # what Keras raises when urlretrieve fails
            f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name "
            "resolution"
        )

    monkeypatch.setattr(mnist_module, "get_file", get_file)
    with pytest.raises(DatasetError, match=r"Temporary failure in name resolution") as caught:
        load_dataset({"source": "keras", "name": "mnist"})
    assert "put it at" in str(caught.value) and "mnist.npz" in str(caught.value)


def test_offline_fashion_mnist_names_its_subfolder(keras_home, no_network):
    with pytest.raises(DatasetError) as caught:
        load_dataset({"source": "keras", "name": "fashion_mnist"})
    expected = keras_home / "datasets" / "fashion-mnist" / "train-labels-idx1-ubyte.gz"
    assert str(expected) in str(caught.value)


def test_damaged_cached_file_is_reported_and_kept(keras_home, no_network):
    cached = keras_home / "datasets" / "mnist.npz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the real mnist")
    with pytest.raises(DatasetError, match="damaged or incomplete") as caught:
        load_dataset({"source": "keras", "name": "mnist"})
    assert str(cached) in str(caught.value) and "Delete it" in str(caught.value)
    assert cached.read_bytes() == b"not the real mnist"  # Keras would have deleted it
    assert no_network == []  # and it did not try to download over it


def test_unreadable_file_is_a_clear_error(monkeypatch, tmp_path):
    broken = tmp_path / "mnist.npz"
    broken.write_bytes(b"PK\x03\x04 truncated zip")
    monkeypatch.setattr(mnist_module, "get_file", lambda fname=None, origin=None, **k: str(broken))
    with pytest.raises(DatasetError, match="could not be read") as caught:
        load_dataset({"source": "keras", "name": "mnist"})
    assert "Delete the" in str(caught.value)


def test_download_is_bounded_reported_and_timeout_restored(keras_home, monkeypatch):
    seen = {}

    def fake_retrieve(url, filename=None, reporthook=None, data=None):
        seen["timeout"] = socket.getdefaulttimeout()
        for block in range(1, 5):
            reporthook(block, 250, 1000)
        with open(filename, "wb") as file:
            file.write(b"downloaded but not mnist")
        return filename, None

    monkeypatch.setattr(file_utils, "urlretrieve", fake_retrieve)
    reports = []
    previous = socket.getdefaulttimeout()
    with pytest.raises(DatasetError, match="could not be downloaded"):
        # The fake payload fails Keras's hash check after the download.
        load_dataset(
            {"source": "keras", "name": "mnist"},
            progress=lambda message, fraction: reports.append((message, fraction)),
        )
    assert seen["timeout"] == DOWNLOAD_TIMEOUT_S
    assert socket.getdefaulttimeout() == previous
    fractions = [f for m, f in reports if "mnist.npz" in m and f is not None]
    assert fractions == [0.25, 0.5, 0.75, 1.0]
    assert file_utils.urlretrieve is fake_retrieve  # our wrapper was removed again
    assert mnist_module.get_file is file_utils.get_file


def test_loader_module_is_restored_after_an_error(monkeypatch):
    def get_file(fname=None, origin=None, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(mnist_module, "get_file", get_file)
    with pytest.raises(DatasetError):
        load_dataset({"source": "keras", "name": "mnist"})
    assert mnist_module.get_file is get_file


def test_offline_cifar10_names_the_file_a_user_downloads(keras_home, no_network):
    with pytest.raises(DatasetError) as caught:
        load_dataset({"source": "keras", "name": "cifar10"})
    message = str(caught.value)
    assert "target_archive" not in message
    assert f"put it at {keras_home / 'datasets' / 'cifar-10-python.tar.gz'}" in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message


def test_a_hand_placed_cifar10_archive_is_picked_up(keras_home, no_network):
    placed = keras_home / "datasets" / "cifar-10-python.tar.gz"
    placed.parent.mkdir(parents=True)
    placed.write_bytes(b"not the real archive")
    with pytest.raises(DatasetError, match="damaged or incomplete") as caught:
        load_dataset({"source": "keras", "name": "cifar10"})
    assert str(placed) in str(caught.value)  # checked as the file Keras reads
    assert no_network == []  # and not downloaded over
    assert sorted(p.name for p in placed.parent.iterdir()) == ["cifar-10-python.tar.gz"]
