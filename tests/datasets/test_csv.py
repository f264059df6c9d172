"""CSV tables: encoding, normalisation from training rows only, and every bad-input message."""

from __future__ import annotations

import numpy as np
import pytest

from engine.datasets import DatasetError, load_dataset, suggest_head

HEADER = "size,colour,weight,kind\n"


def _rows(n: int) -> str:
    colours = ["red", "green", "blue"]
    kinds = ["apple", "pear", "plum"]
    return "".join(
        f"{1.0 + i * 0.5},{colours[i % 3]},{10 + (i * 7) % 13},{kinds[i % 3]}\n" for i in range(n)
    )


@pytest.fixture
def fruit(tmp_path):
    path = tmp_path / "fruit.csv"
    path.write_text(HEADER + _rows(40))
    return path


def _load(path, **fields):
    return load_dataset({"source": "csv", "path": str(path), "target": "kind", **fields})


def test_text_target_becomes_classes_and_text_feature_one_hot(fruit):
    dataset = load_dataset(
        {"source": "csv", "path": str(fruit), "target": "kind", "test_split": 0.25},
        validation_split=0.2,
    )
    assert dataset.task == "multiclass" and dataset.class_names == ["apple", "pear", "plum"]
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (24, 6, 10)
    # size, weight (z-scored) + colour one-hot (3 levels)
    assert dataset.input_shape == (5,)
    x = dataset.fit_arguments(8, True, 0)["x"]
    np.testing.assert_allclose(x[:, 0].mean(), 0, atol=1e-5)  # training statistics only
    np.testing.assert_allclose(x[:, 0].std(), 1, atol=1e-4)
    assert set(np.unique(x[:, 1:4])) == {0.0, 1.0}
    assert "One-hot encoded: colour" in dataset.description
    sample = dataset.samples[0]
    assert sample.kind == "row" and set(sample.value) == {"size", "colour", "weight"}
    assert sample.label in dataset.class_names
    x_test, y_test = dataset.test_arrays()
    assert y_test.dtype == np.int32 and len(y_test) == 10
    row = dataset.describe_input(x_test[0])
    np.testing.assert_allclose(dataset.encode_inputs(row.value), x_test[:1], atol=1e-5)
    assert suggest_head(dataset).output_layer["config"]["units"] == 3


def test_regression_target_is_guessed_and_kept_in_its_units(fruit):
    dataset = load_dataset({"source": "csv", "path": str(fruit), "target": "size"})
    assert dataset.task == "regression" and dataset.label_encoding == "float"
    _, y = dataset.test_arrays()
    assert y.min() >= 1.0  # targets are not normalised


def test_few_whole_numbers_are_classes_unless_told_otherwise(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("x,grade\n" + "".join(f"{i},{1 + i % 3}\n" for i in range(30)))
    guessed = load_dataset({"source": "csv", "path": str(path), "target": "grade"})
    assert guessed.task == "multiclass" and guessed.class_names == ["1", "2", "3"]
    assert "set 'task' to regression" in guessed.description
    told = load_dataset(
        {"source": "csv", "path": str(path), "target": "grade", "task": "regression"}
    )
    assert told.task == "regression"


def test_several_binary_targets_are_multilabel(tmp_path):
    path = tmp_path / "tags.csv"
    path.write_text(
        "a,b,t1,t2\n" + "".join(f"{i},{i % 5},{i % 2},{(i // 2) % 2}\n" for i in range(20))
    )
    dataset = load_dataset({"source": "csv", "path": str(path), "target": ["t1", "t2"]})
    assert dataset.task == "multilabel" and dataset.num_classes == 2
    head = suggest_head(dataset)
    assert head.loss == "binary_crossentropy" and head.output_layer["config"]["units"] == 2


def test_separate_test_file_and_unknown_class_in_it(fruit, tmp_path):
    test = tmp_path / "test.csv"
    test.write_text(HEADER + _rows(6))
    dataset = _load(fruit, test_path=str(test))
    assert dataset.test_size == 6 and dataset.train_size == 40
    test.write_text(HEADER + "1.0,red,10,apple\n2.0,red,11,cherry\n")
    with pytest.raises(DatasetError, match=r"Line 3 of .*test.csv has the class 'cherry'"):
        _load(fruit, test_path=str(test))


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match=r"nope.csv does not exist"):
        _load(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DatasetError, match=r"empty\.csv is empty"):
        _load(path)


def test_header_only(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(HEADER)
    with pytest.raises(DatasetError, match="header line but no data rows"):
        _load(path)


@pytest.mark.parametrize("bad_line", ["1.0,red,10\n", "1.0,red,10,apple,extra\n"])
def test_ragged_rows_name_the_line(tmp_path, bad_line):
    path = tmp_path / "ragged.csv"
    path.write_text(HEADER + _rows(3) + bad_line + _rows(2))
    with pytest.raises(DatasetError, match=r"Line 5 of .*ragged.csv has \d fields, but the header"):
        _load(path)


def test_non_utf8_names_the_line_and_the_fix(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes((HEADER + _rows(4)).encode() + "5.0,rouge,12,pêche\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"not utf-8 text: byte 0xea on line 6") as caught:
        _load(path)
    assert "latin-1" in str(caught.value)
    dataset = _load(path, encoding="latin-1", test_split=0.0)
    assert "pêche" in dataset.class_names


def test_text_among_numeric_features_names_line_and_value(tmp_path):
    path = tmp_path / "mixed.csv"
    rows = _rows(12).splitlines(keepends=True)
    rows[7] = "about 3,red,10,apple\n"
    path.write_text(HEADER + "".join(rows))
    with pytest.raises(DatasetError, match=r"Column 'size' .* line 9 has the text 'about 3'"):
        _load(path)


def test_text_column_with_too_many_values_is_refused(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("name,x,y\n" + "".join(f"person{i},{i},{i % 2}\n" for i in range(30)))
    with pytest.raises(DatasetError, match=r"Column 'name' .* 2\d distinct values"):
        load_dataset({"source": "csv", "path": str(path), "target": "y"})
    dataset = load_dataset({"source": "csv", "path": str(path), "target": "y", "features": ["x"]})
    assert dataset.input_shape == (1,)


@pytest.mark.parametrize(
    ("cell", "column", "what"),
    [("size", "size", "Feature"), ("inf", "size", "Feature"), ("kind", "kind", "Target")],
)
def test_missing_or_infinite_values_are_refused(tmp_path, cell, column, what):
    path = tmp_path / "gaps.csv"
    rows = _rows(10).splitlines(keepends=True)
    size, colour, weight, kind = rows[4].strip().split(",")
    values = {"size": "" if cell == "size" else size, "kind": "" if cell == "kind" else kind}
    if cell == "inf":
        values["size"] = "inf"
    rows[4] = f"{values['size']},{colour},{weight},{values['kind']}\n"
    path.write_text(HEADER + "".join(rows))
    with pytest.raises(
        DatasetError, match=rf"{what} column '{column}' .* empty, NaN or infinite on line 6"
    ):
        _load(path)


def test_drop_rows_and_impute_when_chosen(tmp_path):
    path = tmp_path / "gaps.csv"
    rows = _rows(20).splitlines(keepends=True)
    rows[3] = ",red,10,apple\n"  # missing feature
    rows[5] = "2.0,,11,pear\n"  # missing text feature
    rows[8] = "2.0,red,11,\n"  # missing target
    path.write_text(HEADER + "".join(rows))
    dropped = _load(path, missing="drop_rows", test_split=0.0)
    assert dropped.train_size == 17 and "3 row(s)" in dropped.description
    imputed = _load(path, missing="impute", test_split=0.0)
    assert imputed.train_size == 19
    x = imputed.fit_arguments(8, False, 0)["x"]
    assert np.isfinite(x).all()


def test_target_column_missing_lists_the_columns(fruit):
    with pytest.raises(DatasetError, match=r"no column 'price'") as caught:
        load_dataset({"source": "csv", "path": str(fruit), "target": "price"})
    assert "size, colour, weight, kind" in str(caught.value)


def test_single_class_is_refused(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("x,label\n" + "".join(f"{i},yes\n" for i in range(10)))
    with pytest.raises(DatasetError, match=r"single class \(yes\)"):
        load_dataset({"source": "csv", "path": str(path), "target": "label"})
