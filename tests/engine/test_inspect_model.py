"""engine.inspect_model: each layer's output on a sample, Grad-CAM and gradient × input
saliency, checked on tiny models trained here (a planted informative feature / token, a
bright square in one quadrant)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from engine import inspect_model
from engine.errors import LayerLabError


@pytest.fixture(scope="module")
def tabular():
    """y depends only on feature 3 (of 6)."""
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(600, 6)).astype("float32")
    y = (x[:, 3] > 0).astype("int64")
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=25, batch_size=64, verbose=0)
    return model, x, y


def _square_images(n: int, rng, quadrant=None):
    """16×16 noise; class 1 images get a bright 4×4 square in one quadrant."""
    x = rng.uniform(0.0, 0.2, size=(n, 16, 16, 1)).astype("float32")
    y = rng.integers(0, 2, size=n) if quadrant is None else np.ones(n, dtype=int)
    quadrants = rng.integers(0, 4, size=n) if quadrant is None else np.full(n, quadrant)
    for i in range(n):
        if y[i]:
            top, left = 8 * (quadrants[i] // 2), 8 * (quadrants[i] % 2)
            r, c = top + rng.integers(1, 4), left + rng.integers(1, 4)
            x[i, r : r + 4, c : c + 4, 0] = 1.0
    return x, y.astype("int64")


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(2)
    rng = np.random.default_rng(2)
    x, y = _square_images(500, rng)
    model = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="last_conv"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=12, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def text_model():
    """Sequences of 10 token ids (vocabulary 20); class 1 when token 7 appears."""
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x = rng.integers(8, 20, size=(800, 10)).astype("int32")
    y = rng.integers(0, 2, size=800)
    x[y == 1, rng.integers(0, 10, size=int(y.sum()))] = 7
    model = keras.Sequential(
        [
            keras.Input((10,), dtype="int32"),
            keras.layers.Embedding(20, 8),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy")
    model.fit(x, y, epochs=15, batch_size=64, verbose=0)
    return model


# --- activations ---------------------------------------------------------------------------


def test_activations_one_entry_per_layer_with_full_shapes(cnn):
    sample = np.zeros((16, 16, 1), dtype="float32")
    result = inspect_model.activations(cnn, sample)
    assert [a.name for a in result] == [layer.name for layer in cnn.layers]
    assert [a.shape for a in result] == [(16, 16, 8), (16, 16, 8), (8,), (2,)]
    assert result[-1].class_name == "Dense"
    assert np.isclose(result[-1].values.sum(), 1.0, atol=1e-5)  # softmax output, unchanged
    assert all(a.note == "" and not a.reduced for a in result)


def test_activations_probe_model_is_built_once_per_model(cnn):
    sample = np.zeros((1, 16, 16, 1), dtype="float32")  # a batch of one is fine too
    inspect_model.activations(cnn, sample)
    probe = inspect_model._probes[cnn][0]
    inspect_model.activations(cnn, sample)
    assert inspect_model._probes[cnn][0] is probe


def test_activations_bounded_and_say_what_was_cut(cnn):
    result = inspect_model.activations(cnn, np.ones((16, 16, 1), "float32"), max_elements=600)
    conv = result[0]
    assert conv.values.size <= 600 and conv.reduced
    assert conv.values.shape == (16, 16, 2)  # 2 whole maps of 256 values
    assert conv.note == "showing first 2 of 8 feature maps"


def test_reduce_array_strides_long_sequences_and_cuts_vectors():
    values, note = inspect_model.reduce_array(np.arange(1000.0).reshape(500, 2), 300)
    assert values.size <= 300 and values.shape[1] == 2
    assert note.startswith("showing every")
    values, note = inspect_model.reduce_array(np.arange(100.0), 40)
    assert values.shape == (40,) and note == "first 40 of 100 values"
    values, note = inspect_model.reduce_array(np.arange(10.0), 40)
    assert values.shape == (10,) and note == ""


def test_activations_of_a_functional_model_with_two_branches():
    inputs = keras.Input((4,))
    a = keras.layers.Dense(3, name="a")(inputs)
    b = keras.layers.Dense(5, name="b")(inputs)
    merged = keras.layers.Concatenate(name="merged")([a, b])
    model = keras.Model(inputs, keras.layers.Dense(2, name="out")(merged))
    result = inspect_model.activations(model, np.ones(4, "float32"))
    shapes = {a.name: a.shape for a in result}
    assert shapes == {"a": (3,), "b": (5,), "merged": (8,), "out": (2,)}


def test_activations_refuse_a_sample_of_the_wrong_shape(cnn):
    with pytest.raises(LayerLabError, match=r"The sample has shape \(8, 8, 1\)"):
        inspect_model.activations(cnn, np.zeros((8, 8, 1), "float32"))


# --- explanations --------------------------------------------------------------------------


def test_tabular_saliency_of_the_planted_feature_is_the_largest(tabular):
    model, x, _y = tabular
    rows = x[np.abs(x[:, 3]) > 0.5][:20]
    totals = np.zeros(6)
    for row in rows:
        explanation = inspect_model.explain(model, row, feature_names=[f"f{i}" for i in range(6)])
        assert explanation.kind == "features"
        assert explanation.feature_names == [f"f{i}" for i in range(6)]
        totals += np.abs(explanation.scores)
    assert int(np.argmax(totals)) == 3
    one = inspect_model.explain(model, rows[0])
    assert int(np.argmax(np.abs(one.scores))) == 3
    assert one.class_index == int(rows[0][3] > 0)
    assert 0.5 < one.probability <= 1.0
    # the head's softmax is back in place after the gradient was taken
    assert model.layers[-1].activation.__name__ == "softmax"


def test_gradcam_mass_is_in_the_quadrant_with_the_square(cnn):
    rng = np.random.default_rng(7)
    for quadrant in range(4):
        x, _ = _square_images(1, rng, quadrant=quadrant)
        explanation = inspect_model.explain(cnn, x[0], class_index=1, class_names=["no", "yes"])
        assert explanation.kind == "gradcam"
        assert explanation.layer == "last_conv"
        assert explanation.class_name == "yes"
        heat = explanation.heatmap
        assert heat.shape == (16, 16)
        assert heat.min() >= 0.0 and np.isclose(heat.max(), 1.0)
        masses = [heat[:8, :8].sum(), heat[:8, 8:].sum(), heat[8:, :8].sum(), heat[8:, 8:].sum()]
        assert int(np.argmax(masses)) == quadrant, masses


def test_token_saliency_points_at_the_planted_token(text_model):
    ids = np.array([9, 12, 7, 15, 11, 18, 10, 14, 0, 0], dtype="int32")
    vocabulary = ["", "[UNK]"] + [f"w{i}" for i in range(2, 20)]
    explanation = inspect_model.explain(text_model, ids, vocabulary=vocabulary)
    assert explanation.kind == "tokens"
    assert explanation.class_index == 1
    assert explanation.tokens == ["w9", "w12", "w7", "w15", "w11", "w18", "w10", "w14"]
    assert len(explanation.scores) == 8  # padding left out
    assert int(np.argmax(explanation.scores)) == 2
    assert "padding" in explanation.note


def test_explain_refuses_a_class_the_model_does_not_have(tabular):
    model, x, _y = tabular
    with pytest.raises(LayerLabError, match=r"There is no class 5; the model has 2 classes\."):
        inspect_model.explain(model, x[0], class_index=5)


def test_decode_tokens_marks_ids_outside_the_vocabulary():
    assert inspect_model.decode_tokens([2, 3, 99], ["", "?", "a", "b"]) == ["a", "b", "#99"]


def test_gradcam_for_a_flat_input_reshaped_to_an_image_inside_the_model():
    """The digits CNN takes 64 numbers and reshapes them: Grad-CAM still applies, drawn at
    the 8×8 size of the reshaped image (it fell back to per-feature saliency before)."""
    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Reshape((8, 8, 1)),
            keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    sample = np.random.default_rng(0).random(64).astype("float32")
    explanation = inspect_model.explain(model, sample, class_index=0)
    assert explanation.kind == "gradcam" and explanation.layer == "conv"
    assert explanation.heatmap.shape == (8, 8)


def test_gradcam_and_activations_of_a_model_loaded_from_a_file(cnn, tmp_path):
    """A Sequential loaded from .h5 has called its layers several times while rebuilding;
    ``layer.output`` is then off the model's path and the gradient was None ("The class
    score does not depend on last_conv's output")."""
    from engine.modelfile import load_model_file, save_model

    save_model(cnn, tmp_path / "cnn.h5")
    loaded = load_model_file(tmp_path / "cnn.h5").model
    x, _ = _square_images(1, np.random.default_rng(9), quadrant=2)
    explanation = inspect_model.explain(loaded, x[0], class_index=1)
    assert explanation.kind == "gradcam" and explanation.heatmap.shape == (16, 16)
    heat = explanation.heatmap
    masses = [heat[:8, :8].sum(), heat[:8, 8:].sum(), heat[8:, :8].sum(), heat[8:, 8:].sum()]
    assert int(np.argmax(masses)) == 2
    layers = inspect_model.activations(loaded, x[0])
    assert [a.name for a in layers] == [layer.name for layer in loaded.layers]
    expected = np.asarray(loaded.predict(x, verbose=0))[0]
    assert np.allclose(layers[-1].values, expected, atol=1e-5)


def test_test_rows_of_a_text_dataset_are_explained_with_its_words(text_model):
    from types import SimpleNamespace

    from engine.datasets.base import ArrayStore, Part, Sample

    x = np.array([[9, 7, 12, 0, 0, 0, 0, 0, 0, 0], [9, 10, 11, 12, 13, 14, 15, 16, 17, 18]])
    vocabulary = ["", "[UNK]"] + [f"w{i}" for i in range(2, 20)]
    dataset = SimpleNamespace(
        parts={"test": Part(ArrayStore(x.astype("int32")), np.array([1, 0]))},
        class_names=["neg", "pos"],
        vocabulary=vocabulary,
        input_shape=(10,),
        describe_input=lambda row: Sample("text", " ".join(vocabulary[t] for t in row if t), ""),
    )
    first, second = inspect_model.explain_test_rows(text_model, dataset, [0, 1])
    assert first.kind == "tokens" and first.tokens == ["w9", "w7", "w12"]
    assert first.class_name == "pos" and first.title == "test sample 0"
    assert first.sample.value == "w9 w7 w12"
    assert int(np.argmax(first.scores)) == 1
    assert second.class_name == "neg" and len(second.tokens) == 10
    with pytest.raises(LayerLabError, match=r"The test part has 2 rows; row 5 is not one\."):
        inspect_model.explain_test_rows(text_model, dataset, [5])


def test_regression_saliency_explains_the_predicted_value():
    """A regression output is explained as itself (it was treated as a one-unit binary head:
    a negative prediction explained the negated value as "class 0")."""
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    x = rng.normal(size=(500, 4)).astype("float32")
    y = 3.0 * x[:, 2]
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    model.fit(x, y, epochs=20, batch_size=50, verbose=0)
    sample = np.array([0.5, -0.3, -1.5, 0.2], dtype="float32")
    explanation = inspect_model.explain(model, sample, task="regression")
    assert explanation.class_name == "the predicted value" and explanation.probability is None
    assert int(np.argmax(np.abs(explanation.scores))) == 2
    assert explanation.scores[2] < 0  # x2 < 0 pushed the value down
