"""Word vectors into an Embedding layer: reading GloVe-format files, hostile files, training."""

from __future__ import annotations

import gzip
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from engine.embeddings import (
    VectorsCancelled,
    apply_embeddings,
    embeddings_for_save,
    read_vectors,
    stored_vector_path,
    validate_embeddings,
    vector_path,
)
from engine.errors import LayerLabError, ProjectError

# Token ids as a text folder's TextVectorization gives them: 0 padding, 1 [UNK].
VOCABULARY = ["", "[UNK]", "the", "cat", "sat", "on", "mat", "zyzzyva"]
DIM = 4


def vector(word: str) -> list[float]:
    """A distinct, exactly representable vector per word."""
    base = sum(ord(c) for c in word) % 50
    return [base + k * 0.25 for k in range(DIM)]


def write_vectors(path, words, *, header: str | None = None, gz: bool = False):
    lines = [header] if header else []
    lines += [word + " " + " ".join(repr(v) for v in vector(word)) for word in words]
    data = ("\n".join(lines) + "\n").encode()
    if gz:
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


FILE_WORDS = ["the", ",", "cat", "dog", "on", "mat", "[unk]", "sat"]


def test_coverage_numbers_and_rows(tmp_path):
    path = write_vectors(tmp_path / "glove.txt", FILE_WORDS)
    match = read_vectors(path, VOCABULARY)
    assert match.matrix.shape == (len(VOCABULARY), DIM)
    assert match.matrix.dtype == np.float32
    assert match.dim == DIM
    # 6 matchable words (padding and [UNK] are not words); 'zyzzyva' is missing.
    assert (match.found, match.vocabulary_size) == (5, 6)
    assert match.missing_examples == ["zyzzyva"]
    for row, word in enumerate(VOCABULARY):
        expected = vector(word) if word in {"the", "cat", "sat", "on", "mat"} else [0.0] * DIM
        np.testing.assert_array_equal(match.matrix[row], np.float32(expected), err_msg=word)
    assert match.summary() == ("5 of 6 words found (83.3 %), vector size 4; e.g. missing: zyzzyva")
    assert match.lines == len(FILE_WORDS)


def test_lowercase_matching_first_casing_wins(tmp_path):
    path = tmp_path / "cased.vec"
    path.write_text("The 1 1 1 1\nthe 2 2 2 2\nCAT 3 3 3 3\n")
    folded = read_vectors(path, ["", "the", "cat"], lowercase=True)
    np.testing.assert_array_equal(folded.matrix[1], [1, 1, 1, 1])
    np.testing.assert_array_equal(folded.matrix[2], [3, 3, 3, 3])
    assert folded.found == 2
    exact = read_vectors(path, ["", "the", "cat"], lowercase=False)
    np.testing.assert_array_equal(exact.matrix[1], [2, 2, 2, 2])
    np.testing.assert_array_equal(exact.matrix[2], [0, 0, 0, 0])
    assert (exact.found, exact.missing_examples) == (1, ["cat"])


def test_gzip_header_tabs_and_spaced_words(tmp_path):
    path = write_vectors(tmp_path / "v.txt.gz", FILE_WORDS, header="400000 4", gz=True)
    match = read_vectors(path, VOCABULARY)
    assert match.found == 5
    np.testing.assert_array_equal(match.matrix[3], np.float32(vector("cat")))
    # fastText's trailing spaces, a tab, CRLF and GloVe 840B's words with spaces in them
    odd = tmp_path / "odd.txt"
    odd.write_bytes(b"the 1 2 3 4 \r\n. . . 5 6 7 8\ncat\t9 9 9 9\n")
    match = read_vectors(odd, ["", "the", ". . .", "cat"])
    assert match.found == 3
    np.testing.assert_array_equal(match.matrix[2], [5, 6, 7, 8])
    np.testing.assert_array_equal(match.matrix[3], [9, 9, 9, 9])


def test_imdb_style_vocabulary_reserved_tokens(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("<oov> 1 1\nfilm 2 2\n")
    vocabulary = ["<pad>", "<start>", "<oov>", "<unused>", "film", ""]
    match = read_vectors(path, vocabulary)
    assert (match.found, match.vocabulary_size) == (1, 1)
    assert not match.matrix[2].any()


@pytest.mark.parametrize(
    "content, words",
    [
        (
            b"the 1 2 3\ncat 1 2\n",
            ["line 2", "2 numbers", "first vector has 3", "download it again"],
        ),
        (b"the 1 2 3\ncat 1 x 3\n", ["line 2", "'x' where a number should be"]),
        (b"the 1 2 nan\n", ["line 1", "not a finite number"]),
        (b"hello world, this is prose\n", ["line 1", "'world,' where a number"]),
        (b"\n\n", ["has no vectors"]),
        (b"400000 100\n", ["has no vectors"]),
        (b"3 2\nthe \x00\x81\x12\x7f\x00\x00\n", ["line 2", "binary data", "word2vec"]),
        (b"PK\x03\x04\x00\x00binary zip", ["line 1", "binary data"]),
        (b"the" + b" 1" * 5000 + b"\n", ["line 1", "more than the 4,096"]),
    ],
)
def test_hostile_files_refused(tmp_path, content, words):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(LayerLabError) as caught:
        read_vectors(path, VOCABULARY)
    message = str(caught.value)
    assert str(path) in message
    for word in words:
        assert word in message, message
    assert message[0].isupper()


def test_huge_line_and_empty_and_missing(tmp_path, monkeypatch):
    import engine.embeddings as embeddings

    monkeypatch.setattr(embeddings, "MAX_LINE_BYTES", 64)
    path = tmp_path / "long.txt"
    path.write_bytes(b"the " + b"1" * 200)
    with pytest.raises(LayerLabError, match="line 1 is longer than"):
        read_vectors(path, VOCABULARY)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(LayerLabError, match=r"empty\.txt is empty"):
        read_vectors(empty, VOCABULARY)
    with pytest.raises(LayerLabError, match="does not exist"):
        read_vectors(tmp_path / "nope.txt", VOCABULARY)
    with pytest.raises(LayerLabError, match="not a regular file"):
        read_vectors(tmp_path, VOCABULARY)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(b"".join(b"w%d 1 2 3 4\n" % i for i in range(5000)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(LayerLabError, match="damaged or cut short"):
        read_vectors(path, VOCABULARY)


def test_cancel_and_progress(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"".join(b"w%d 1 2\n" % i for i in range(20_000)))
    reports = []
    match = read_vectors(path, ["", "w5"], progress=lambda m, f: reports.append(f))
    assert match.found == 1 and reports and reports == sorted(reports)
    with pytest.raises(VectorsCancelled):
        read_vectors(path, ["", "w5"], cancelled=lambda: True)


def test_header_is_not_trusted_for_allocation(tmp_path):
    path = tmp_path / "liar.txt"
    path.write_text("999999999999 999999999\nthe 1 2\n")
    match = read_vectors(path, ["", "the"])
    assert match.matrix.shape == (2, 2)


def test_validate_embeddings():
    entry = {"layer": "embedding", "file": "glove.txt"}
    assert validate_embeddings([entry]) == [{**entry, "lowercase": True, "trainable": False}]
    assert validate_embeddings(None) == []
    with pytest.raises(ProjectError, match="names no layer"):
        validate_embeddings([{"file": "x"}])
    with pytest.raises(ProjectError, match="names no vector file"):
        validate_embeddings([{"layer": "e"}])
    with pytest.raises(ProjectError, match="trainable must be true or false"):
        validate_embeddings([{"layer": "e", "file": "x", "trainable": "yes"}])
    with pytest.raises(ProjectError, match="Two word-vector entries"):
        validate_embeddings([entry, entry])
    with pytest.raises(ProjectError, match="must be a list"):
        validate_embeddings({"layer": "e"})


def test_project_validation_keeps_embeddings():
    from engine.project import new_project, validate_project

    project = new_project()
    project["embeddings"] = [{"layer": "embedding", "file": "glove.txt"}]
    checked = validate_project(project)
    assert checked["embeddings"][0]["trainable"] is False
    project["embeddings"] = [{"layer": 3}]
    with pytest.raises(ProjectError, match="names no layer"):
        validate_project(project)
    project["embeddings"] = None
    assert "embeddings" not in validate_project(project)


def test_paths(tmp_path):
    project = tmp_path / "work" / "p.llproj"
    assert stored_vector_path(tmp_path / "work" / "v" / "g.txt", project) == "v/g.txt"
    assert stored_vector_path(tmp_path / "data" / "g.txt", project) == "../data/g.txt"
    assert stored_vector_path(tmp_path / "g.txt", None) == str(tmp_path / "g.txt")
    assert vector_path("v/g.txt", project.parent) == project.parent / "v" / "g.txt"
    with pytest.raises(LayerLabError, match="has not been saved"):
        vector_path("v/g.txt", None)
    moved = embeddings_for_save(
        {"embeddings": [{"layer": "e", "file": "v/g.txt"}]},
        tmp_path / "other" / "deeper" / "p.llproj",
        project,
    )
    assert moved["embeddings"][0]["file"] == str(tmp_path / "work" / "v" / "g.txt")


# --------------------------------------------------------------------------- training


def embedding_model(input_dim=8, output_dim=DIM):
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(input_dim, output_dim, name="embedding"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, name="dense"),
        ]
    )
    return model


def test_apply_embeddings_sets_weights_and_trainable(tmp_path):
    write_vectors(tmp_path / "glove.txt", FILE_WORDS)
    dataset = SimpleNamespace(vocabulary=VOCABULARY)
    model = embedding_model(input_dim=len(VOCABULARY) + 2)
    project = {"embeddings": [{"layer": "embedding", "file": "glove.txt", "trainable": False}]}
    lines = apply_embeddings(model, project, dataset, tmp_path)
    weights = model.get_layer("embedding").get_weights()[0]
    np.testing.assert_array_equal(weights[3], np.float32(vector("cat")))
    assert not weights[0].any() and not weights[-2:].any() and not weights[7].any()
    assert model.get_layer("embedding").trainable is False
    assert "5 of 6 words found" in lines[0] and "frozen" in lines[0]
    project["embeddings"][0]["trainable"] = True
    apply_embeddings(model, project, dataset, tmp_path)
    assert model.get_layer("embedding").trainable is True


def test_frozen_vectors_survive_fit(tmp_path):
    write_vectors(tmp_path / "glove.txt", FILE_WORDS)
    model = embedding_model()
    project = {"embeddings": [{"layer": "embedding", "file": "glove.txt"}]}
    model.compile(optimizer="adam", loss="mse")
    apply_embeddings(model, project, SimpleNamespace(vocabulary=VOCABULARY), tmp_path)
    before = model.get_layer("embedding").get_weights()[0].copy()
    x = np.random.default_rng(0).integers(0, len(VOCABULARY), (32, 5))
    model.fit(x, np.ones((32, 1)), epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_layer("embedding").get_weights()[0], before)


def test_apply_embeddings_refusals(tmp_path):
    write_vectors(tmp_path / "glove.txt", FILE_WORDS)
    dataset = SimpleNamespace(vocabulary=VOCABULARY)
    project = {"embeddings": [{"layer": "embedding", "file": "glove.txt"}]}
    with pytest.raises(LayerLabError) as caught:
        apply_embeddings(embedding_model(output_dim=8), project, dataset, tmp_path)
    assert str(caught.value) == (
        "Embedding 'embedding' has output_dim 8, but the vectors in glove.txt have 4 numbers. "
        "Set output_dim of 'embedding' to 4 (loading the vectors again from the Model menu "
        "does it)."
    )
    with pytest.raises(LayerLabError, match="input_dim 3, but the dataset's vocabulary has 8"):
        apply_embeddings(embedding_model(input_dim=3), project, dataset, tmp_path)
    with pytest.raises(LayerLabError, match="has no vocabulary"):
        apply_embeddings(embedding_model(), project, SimpleNamespace(vocabulary=None), tmp_path)
    dense = {"embeddings": [{"layer": "dense", "file": "glove.txt"}]}
    with pytest.raises(LayerLabError, match="'dense' is a Dense"):
        apply_embeddings(embedding_model(), dense, dataset, tmp_path)
    gone = {"embeddings": [{"layer": "embedding_9", "file": "glove.txt"}]}
    lines = apply_embeddings(embedding_model(), gone, dataset, tmp_path)
    assert "were not loaded" in lines[0]


def test_training_run_loads_the_vectors_frozen(tmp_path):
    """engine.training.run puts the project's vectors (path relative to the project file) into
    the built Embedding, logs the coverage and keeps a frozen layer's vectors through fit."""
    from engine.datasets.base import ArrayStore, Dataset, Part
    from engine.events import LogLine
    from engine.project import new_project
    from engine.spec import spec_from_model
    from engine.training import run

    folder = tmp_path / "project"
    (folder / "vectors").mkdir(parents=True)
    write_vectors(folder / "vectors" / "glove.txt", FILE_WORDS)
    rng = np.random.default_rng(0)
    x = rng.integers(0, len(VOCABULARY), (48, 5)).astype("int32")
    y = (x.sum(axis=1) % 2).astype("int64")
    parts = {
        "train": Part(ArrayStore(x[:32]), y[:32]),
        "validation": Part(ArrayStore(x[32:40]), y[32:40]),
        "test": Part(ArrayStore(x[40:]), y[40:]),
    }
    dataset = Dataset(
        block={"source": "npz", "path": "memory"},
        input_shape=(5,),
        dtype="int32",
        task="binary",
        num_classes=2,
        class_names=["a", "b"],
        label_encoding="sparse",
        train_size=32,
        val_size=8,
        test_size=8,
        description="tokens",
        samples=[],
        vocabulary=VOCABULARY,
        parts=parts,
    )
    model = keras.Sequential(
        [
            keras.layers.Embedding(len(VOCABULARY), DIM, name="embedding"),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    project = new_project()
    project["model"] = spec_from_model(model)
    project["compile"] = {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": []}
    project["fit"] = {**project["fit"], "epochs": 1, "batch_size": 8, "validation_split": 0.0}
    project["embeddings"] = [{"layer": "embedding", "file": "vectors/glove.txt"}]
    events = []
    result = run(
        project,
        sink=events.append,
        dataset=dataset,
        workdir=tmp_path,
        project_path=folder / "p.llproj",
        evaluate_test=False,
    )
    assert result.status == "completed", result.message
    assert result.snapshot["embeddings"] == project["embeddings"]  # the run is reproducible
    layer = result.model.get_layer("embedding")
    assert layer.trainable is False
    np.testing.assert_array_equal(layer.get_weights()[0][3], np.float32(vector("cat")))
    logs = [event.text for event in events if isinstance(event, LogLine)]
    assert any("Word vectors for 'embedding' from glove.txt: 5 of 6 words found" in m for m in logs)
