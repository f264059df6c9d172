"""Small files in the exact formats the real ``keras.datasets`` loaders read.

Only the download step is substituted: each loader module's ``get_file`` is pointed at these
files, so the loaders' own parsing runs. Nothing here touches the network.
"""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

WORDS = ["the", "movie", "was", "great", "bad", "plot", "acting", "boring", "fun", "love"]


def _mnist(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    path = folder / "mnist.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
        y_train=(np.arange(40) % 10).astype(np.uint8),
        x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        y_test=(np.arange(10) % 10).astype(np.uint8),
    )
    return {"mnist.npz": path}


def _fashion(folder: Path) -> dict[str, Path]:
    out = {}

    def write(name: str, header: int, payload: bytes):
        path = folder / name
        with gzip.open(path, "wb") as file:
            file.write(b"\0" * header + payload)
        out[name] = path

    labels = (np.arange(30) % 10).astype(np.uint8)
    write("train-labels-idx1-ubyte.gz", 8, labels.tobytes())
    write("train-images-idx3-ubyte.gz", 16, np.full((30, 28, 28), 7, np.uint8).tobytes())
    write("t10k-labels-idx1-ubyte.gz", 8, labels[:10].tobytes())
    write("t10k-images-idx3-ubyte.gz", 16, np.full((10, 28, 28), 9, np.uint8).tobytes())
    return out


def _cifar10(folder: Path) -> dict[str, Path]:
    root = folder / "cifar10" / "cifar-10-batches-py"
    root.mkdir(parents=True)
    data = np.zeros((10000, 3072), dtype=np.uint8)
    data[:, :1024] = 200  # red channel of every image
    labels = [i % 10 for i in range(10000)]
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        with open(root / name, "wb") as file:
            pickle.dump({b"data": data, b"labels": labels}, file)
    return {"cifar-10-batches-py-target": root.parent}


def _cifar100(folder: Path) -> dict[str, Path]:
    root = folder / "cifar100" / "cifar-100-python"
    root.mkdir(parents=True)
    for name, n in (("train", 60), ("test", 20)):
        with open(root / name, "wb") as file:
            pickle.dump(
                {
                    b"data": np.zeros((n, 3072), dtype=np.uint8),
                    b"fine_labels": [i % 100 for i in range(n)],
                    b"coarse_labels": [i % 20 for i in range(n)],
                },
                file,
            )
    with open(root / "meta", "wb") as file:
        pickle.dump(
            {
                b"fine_label_names": [f"fine{i}".encode() for i in range(100)],
                b"coarse_label_names": [f"coarse{i}".encode() for i in range(20)],
            },
            file,
        )
    return {"cifar-100-python-target": root.parent}


def _ragged(rows: list[list[int]]) -> np.ndarray:
    array = np.empty(len(rows), dtype=object)
    for i, row in enumerate(rows):
        array[i] = row
    return array


def _reviews(n: int, seed: int) -> tuple[list[list[int]], np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    rows = []
    for label in labels:
        # word ranks 1..10; positive reviews use "great"(4) and "love"(10), negative "bad"(5)
        words = [1, 2, 3] + ([4, 10] if label else [5, 8])
        rows.append([int(w) for w in rng.permutation(words)])
    return rows, labels.astype(np.int64)


def _imdb(folder: Path) -> dict[str, Path]:
    train, y_train = _reviews(40, 1)
    test, y_test = _reviews(20, 2)
    path = folder / "imdb.npz"
    np.savez(path, x_train=_ragged(train), y_train=y_train, x_test=_ragged(test), y_test=y_test)
    index = folder / "imdb_word_index.json"
    index.write_text(json.dumps({w: i + 1 for i, w in enumerate(WORDS)}))
    return {"imdb.npz": path, "imdb_word_index.json": index}


def _reuters(folder: Path) -> dict[str, Path]:
    rows = [[1 + (i % 7), 2, 3 + (i % 3)] for i in range(50)]
    path = folder / "reuters.npz"
    np.savez(path, x=_ragged(rows), y=np.array([i % 3 for i in range(50)], dtype=np.int64))
    index = folder / "reuters_word_index.json"
    index.write_text(json.dumps({w: i + 1 for i, w in enumerate(WORDS)}))
    return {"reuters.npz": path, "reuters_word_index.json": index}


def _boston(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(3)
    x = rng.normal(10, 3, (50, 13))
    y = x[:, 5] * 2 + 5
    path = folder / "boston_housing.npz"
    np.savez(path, x=x, y=y)
    return {"boston_housing.npz": path}


_WRITERS = {
    "mnist": _mnist,
    "fashion_mnist": _fashion,
    "cifar10": _cifar10,
    "cifar100": _cifar100,
    "imdb": _imdb,
    "reuters": _reuters,
    "boston_housing": _boston,
}


@pytest.fixture(scope="session")
def keras_files(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """name → {file name get_file is asked for → small file in the loader's format}.

    Written lazily (cifar10 needs 6 x 30 MB pickles) and shared by the session.
    """
    cache: dict[str, dict[str, Path]] = {}

    class Files(dict):
        def __missing__(self, name):
            folder = tmp_path_factory.mktemp(f"fake-{name}")
            cache[name] = _WRITERS[name](folder)
            self[name] = cache[name]
            return cache[name]

    return Files()


@pytest.fixture
def fake_download(monkeypatch, keras_files):
    """``fake_download(name)`` points that loader's ``get_file`` at the small files.

    Returns the list of (fname, kwargs) calls the loader made.
    """

    def install(name: str) -> list:
        import importlib

        module = importlib.import_module(f"keras.src.datasets.{name}")
        files = keras_files[name]
        calls = []

        def get_file(fname=None, origin=None, **kwargs):
            calls.append((fname, kwargs))
            if fname not in files:
                raise AssertionError(f"unexpected download of {fname} from {origin}")
            return str(files[fname])

        monkeypatch.setattr(module, "get_file", get_file)
        return calls

    return install


@pytest.fixture
def keras_home(monkeypatch, tmp_path) -> Path:
    """A private, empty Keras home for tests that put files into the real cache layout."""
    from keras.src.backend import config

    home = tmp_path / "keras-home"
    home.mkdir()
    monkeypatch.setattr(config, "_KERAS_DIR", str(home))
    return home


@pytest.fixture
def no_network(monkeypatch):
    """Every real download attempt fails the way urllib fails with no DNS; counts attempts."""
    import urllib.error

    from keras.src.utils import file_utils

    attempts = []

    def refuse(url, filename=None, reporthook=None, data=None):
        attempts.append(url)
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(file_utils, "urlretrieve", refuse)
    return attempts
