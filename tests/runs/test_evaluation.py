"""Evaluation numbers: confusion counts equal scikit-learn's, gallery order, regression stats."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

from engine import evaluation
from engine.datasets.base import ArrayStore
from engine.datasets.build import assemble


def test_confusion_counts_equal_sklearn():
    rng = np.random.default_rng(0)
    for n_classes in (2, 3, 10):
        y_true = rng.integers(0, n_classes, 500)
        y_pred = np.where(rng.random(500) < 0.6, y_true, rng.integers(0, n_classes, 500))
        ours = evaluation.confusion(y_true, y_pred, n_classes)
        theirs = confusion_matrix(y_true, y_pred, labels=list(range(n_classes)))
        assert np.array_equal(ours, theirs)
        scores = evaluation.class_scores(y_true, y_pred, [f"c{i}" for i in range(n_classes)])
        p, r, f, s = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
        assert [x.precision for x in scores] == pytest.approx(p)
        assert [x.f1 for x in scores] == pytest.approx(f)
        assert [x.recall for x in scores] == pytest.approx(r)
        assert [x.support for x in scores] == list(s)
    with pytest.raises(ValueError):
        evaluation.confusion([0, 3], [0, 1], 3)


def test_outputs_become_labels_like_the_head_says():
    sigmoid = np.array([[0.2], [0.7], [0.5]])
    classes, confidence = evaluation.predicted_classes(evaluation.probabilities(sigmoid, "binary"))
    assert list(classes) == [0, 1, 0] and confidence == pytest.approx([0.8, 0.7, 0.5])
    logits = np.array([[2.0, -1.0, 0.0], [-3.0, 0.5, 4.0]])
    probs = evaluation.probabilities(logits, "multiclass")
    assert probs.sum(axis=1) == pytest.approx([1, 1]) and list(probs.argmax(1)) == [0, 2]
    assert list(evaluation.true_classes(np.eye(3)[[2, 0]])) == [2, 0]
    assert list(evaluation.true_classes(np.array([1.0, 0.0]))) == [1, 0]


def test_gallery_puts_confident_mistakes_first_then_unsure_hits():
    correct = [True, False, True, False, True]
    confidence = [0.9, 0.6, 0.55, 0.95, 0.7]
    assert list(evaluation.gallery_order(correct, confidence)) == [3, 1, 2, 4, 0]


def binary_dataset():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(240, 6)).astype("float32")
    y = (x[:, 0] + 0.5 * rng.normal(size=240) > 0).astype("int64")
    parts = {
        "train": (ArrayStore(x[:160]), y[:160]),
        "test": (ArrayStore(x[160:]), y[160:]),
    }
    dataset = assemble(
        {"source": "npz", "path": "synthetic.npz"},
        title="synthetic",
        task="binary",
        parts=parts,
        loss="binary_crossentropy",
        input_shape=(6,),
        dtype="float32",
        input_note="6 numbers",
        class_names=["no", "yes"],
    )
    return dataset, x, y


def test_binary_evaluation_on_a_model():
    dataset, x, y = binary_dataset()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    result = evaluation.evaluate(model, dataset, batch_size=16, gallery_size=10)
    probs = model.predict(x[160:], verbose=0)[:, 0]
    predicted = (probs > 0.5).astype(int)
    assert result.samples == 80
    assert np.array_equal(result.confusion, confusion_matrix(y[160:], predicted, labels=[0, 1]))
    assert result.accuracy == pytest.approx(result.metrics["accuracy"], abs=1e-6)
    assert result.roc.auc == pytest.approx(roc_auc_score(y[160:], probs))
    assert len(result.gallery) == 10
    wrong = [item for item in result.gallery if not item.correct]
    assert result.gallery[: len(wrong)] == wrong  # mistakes first
    assert wrong and wrong[0].predicted_label != wrong[0].true_label
    assert wrong[0].confidence == max(item.confidence for item in wrong)
    assert result.gallery[0].sample.kind == "vector"
    text = "\n".join(result.summary_lines())
    assert "ROC AUC" in text and "confusion matrix" in text
    prediction = evaluation.predict_one(model, dataset, x[0])
    assert [name for name, _ in prediction.labels] in (["yes", "no"], ["no", "yes"])
    assert sum(p for _, p in prediction.labels) == pytest.approx(1.0)
    positive = float(model.predict(x[:1], verbose=0)[0, 0])
    assert prediction.labels[0][1] == pytest.approx(max(positive, 1 - positive))


def test_regression_stats_and_cancelling():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([1.5, 2.0, 2.0, 4.0])
    stats = evaluation.regression_stats(t, p, baseline_mae=0.9)
    assert stats.mae == pytest.approx(0.375)
    assert stats.rmse == pytest.approx(np.sqrt((0.25 + 1.0) / 4))
    assert list(stats.residuals) == [0.5, 0.0, -1.0, 0.0]
    dataset, _, _ = binary_dataset()
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    with pytest.raises(evaluation.EvaluationCancelled):
        evaluation.evaluate(model, dataset, 16, cancelled=lambda: True)


def test_time_series_baseline_is_the_test_parts(tmp_path):
    """Issue 9 defect 6: the test MAE was compared with the validation part's naive MAE."""
    from engine.datasets import load_dataset

    n = 300
    t = np.arange(n)
    # The series gets wilder over time, so each part's naive (last value) MAE differs.
    values = np.sin(t / 3.0) * (1 + t / 30.0)
    path = tmp_path / "series.csv"
    path.write_text("v\n" + "\n".join(f"{v:.5f}" for v in values) + "\n")
    block = {
        "source": "timeseries",
        "path": str(path),
        "target": "v",
        "lookback": 12,
        "step": 2,
        "delay": 3,
        "split": [0.5, 0.25, 0.25],
    }
    dataset = load_dataset(block)
    length, offset = 6, 5 * 2 + 3
    starts = np.arange(225, n - offset)
    expected = np.mean(np.abs(values[starts + offset] - values[starts + (length - 1) * 2]))
    assert dataset.baseline_mae != pytest.approx(expected, rel=0.05)  # validation's
    model = keras.Sequential(
        [keras.Input(dataset.input_shape), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    model.compile(optimizer="adam", loss="mean_squared_error", metrics=["mean_absolute_error"])
    result = evaluation.evaluate(model, dataset, 16)
    assert result.regression.baseline_mae == pytest.approx(expected, rel=1e-4)
    assert f"{expected:.4g}" in dataset.description  # the loader's "test" figure agrees


def test_a_model_that_does_not_fit_the_dataset_gets_a_plain_message():
    """Found under Xvfb: an opened teachable-machine model (224×224×3 images) evaluated on
    the digits set said "• kwargs=<class 'inspect._empty'>"; a two-input seq2seq model gave
    Keras's "Pass inputs as a dict, e.g. layer({'input_1': ...})"."""
    dataset, x, _y = binary_dataset()
    images = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Flatten(), keras.layers.Dense(1)]
    )
    images.compile(loss="mse")
    with pytest.raises(evaluation.LayerLabError) as caught:
        evaluation.evaluate(images, dataset)
    assert str(caught.value) == (
        "The model takes samples of shape (8, 8, 3), but the dataset gives (6,). "
        "Choose the dataset the model was trained on in the Dataset panel."
    )
    a, b = keras.Input((6,), name="encoder_in"), keras.Input((6,), name="decoder_in")
    two = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    two.compile(loss="mse")
    for call in (
        lambda: evaluation.evaluate(two, dataset),
        lambda: evaluation.predict(two, dataset, x[0]),
    ):
        with pytest.raises(
            evaluation.LayerLabError, match=r"takes 2 inputs \(encoder_in, decoder_in\)"
        ):
            call()
    free = keras.Sequential([keras.Input((None,)), keras.layers.Reshape((-1, 1))])
    evaluation.check_fits(free, dataset)  # a free length fits any
