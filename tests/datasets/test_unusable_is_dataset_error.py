"""Every dataset that cannot be used raises DatasetError (the CLI maps it to exit 2, bad input,
before any run is recorded; issue 10 "CLI exit codes")."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.datasets import load_dataset
from engine.errors import DatasetError, LayerLabError


def _csv(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text)
    return {"source": "csv", "path": str(path), "target": "y"}


def _missing(tmp_path):
    return {"source": "csv", "path": str(tmp_path / "nowhere.csv"), "target": "y"}


def _empty(tmp_path):
    return _csv(tmp_path, "")


def _blank(tmp_path):
    return _csv(tmp_path, "\n \n")


def _header_only(tmp_path):
    return _csv(tmp_path, "a,b,y\n")


def _ragged(tmp_path):
    return _csv(tmp_path, "a,b,y\n1,2,0\n3,4\n5,6,1\n")


def _nan_without_policy(tmp_path):
    return _csv(tmp_path, "a,b,y\n1,2,0\n3,,1\n5,6,0\n7,8,1\n")


def _unknown_target(tmp_path):
    block = _csv(tmp_path, "a,b,y\n1,2,0\n3,4,1\n")
    return {**block, "target": "label"}


def _text_in_numbers(tmp_path):
    rows = "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20))
    return _csv(tmp_path, "a,b,y\n" + rows + "oops,1,0\n")


def _not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,b,y\n1,2,0\n3,4,1\n\xe9,5,0\n")
    return {"source": "csv", "path": str(path), "target": "y"}


def _folder_of_csv(tmp_path):
    return {"source": "csv", "path": str(tmp_path), "target": "y"}


def _single_class(tmp_path):
    return _csv(tmp_path, "a,y\n1,0\n2,0\n3,0\n", "one.csv") | {"task": "multiclass"}


def _image_folder_missing(tmp_path):
    return {"source": "image_folder", "path": str(tmp_path / "photos")}


def _image_folder_without_classes(tmp_path):
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "photos" / "a.png")
    return {"source": "image_folder", "path": str(tmp_path / "photos")}


def _image_folder_broken_file(tmp_path):
    for cls in ("cats", "dogs"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
        Image.new("RGB", (4, 4)).save(tmp_path / "photos" / cls / "ok.png")
    (tmp_path / "photos" / "dogs" / "bad.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    return {"source": "image_folder", "path": str(tmp_path / "photos"), "image_size": [4, 4]}


def _image_folder_no_images(tmp_path):
    for cls in ("cats", "dogs"):
        (tmp_path / "photos" / cls).mkdir(parents=True)
    return {"source": "image_folder", "path": str(tmp_path / "photos")}


def _text_folder_missing(tmp_path):
    return {"source": "text_folder", "path": str(tmp_path / "reviews")}


def _npz_missing(tmp_path):
    return {"source": "npz", "path": str(tmp_path / "arrays.npz")}


def _npz_not_an_npz(tmp_path):
    path = tmp_path / "arrays.npz"
    path.write_bytes(b"PK\x03\x04 not really")
    return {"source": "npz", "path": str(path)}


def _npz_with_nan(tmp_path):
    path = tmp_path / "arrays.npz"
    x = np.ones((10, 3), dtype="float32")
    x[4, 1] = np.nan
    np.savez(path, x=x, y=np.arange(10) % 2)
    return {"source": "npz", "path": str(path)}


def _timeseries_missing(tmp_path):
    return {"source": "timeseries", "path": str(tmp_path / "series.csv"), "target": "t"}


def _timeseries_too_short(tmp_path):
    path = tmp_path / "series.csv"
    path.write_text("t,u\n" + "".join(f"{i},{i * 2}\n" for i in range(20)))
    return {"source": "timeseries", "path": str(path), "target": "t"}


def _unknown_source(tmp_path):
    return {"source": "sql", "path": "db"}


def _unknown_sample(tmp_path):
    return {"source": "sample", "name": "no_such_set"}


def _not_a_block(tmp_path):
    return ["not", "a", "dict"]


CASES = [
    _missing,
    _empty,
    _blank,
    _header_only,
    _ragged,
    _nan_without_policy,
    _unknown_target,
    _text_in_numbers,
    _not_utf8,
    _folder_of_csv,
    _single_class,
    _image_folder_missing,
    _image_folder_without_classes,
    _image_folder_broken_file,
    _image_folder_no_images,
    _text_folder_missing,
    _npz_missing,
    _npz_not_an_npz,
    _npz_with_nan,
    _timeseries_missing,
    _timeseries_too_short,
    _unknown_source,
    _unknown_sample,
    _not_a_block,
]


@pytest.mark.parametrize("make", CASES, ids=[c.__name__.strip("_") for c in CASES])
def test_unusable_dataset_raises_dataset_error(tmp_path, make):
    block = make(tmp_path)
    with pytest.raises(LayerLabError) as caught:
        load_dataset(block)
    assert type(caught.value) is DatasetError, type(caught.value).__name__
    text = str(caught.value)
    assert text[0].isupper() and "Traceback" not in text


def test_built_in_set_offline_raises_dataset_error(keras_home, no_network):
    with pytest.raises(DatasetError, match="could not be downloaded"):
        load_dataset({"source": "keras", "name": "mnist"})
