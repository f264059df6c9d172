"""Evaluating a trained model on its dataset's test part, and predicting on new input.

``evaluate(model, dataset, batch_size)`` returns an ``Evaluation``: the test metrics from
``model.evaluate`` and, from ``model.predict`` on the same rows,

- classification (binary / multiclass): the confusion matrix (rows = true class, columns =
  predicted), per-class precision / recall / F1 / support (scikit-learn's definitions),
  ROC curve and AUC for binary tasks;
- multilabel: per-label precision / recall / F1 at a 0.5 threshold;
- regression: MAE, RMSE, predicted-vs-true pairs, residuals, and the naive baseline's MAE
  on the same test rows when the dataset has one (time series: "the last value");
- a gallery of test samples with true and predicted labels and the confidence,
  misclassified first (most confidently wrong first), then the least certain correct ones;
  for regression the largest errors first.

Predictions are turned into labels the way the model's head implies: one sigmoid output →
``p > 0.5``; several outputs → arg-max. Outputs that are not probabilities (a head without
activation trained ``from_logits``) get a sigmoid / softmax first.

This module imports Keras only inside functions (widgets may import its result types).
Both entry points accept ``cancelled`` (a callable polled between batches); when it returns
True the work stops with ``EvaluationCancelled``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import DatasetError, LayerLabError

GALLERY_SIZE = 48
MAX_SCATTER_POINTS = 5000
CLASSIFICATION_TASKS = ("binary", "multiclass")


class EvaluationCancelled(Exception):
    """The caller asked to stop (``cancelled()`` returned True)."""


@dataclass(frozen=True)
class ClassScore:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Roc:
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float


@dataclass(frozen=True)
class RegressionStats:
    mae: float
    rmse: float
    baseline_mae: float | None
    y_true: np.ndarray  # at most MAX_SCATTER_POINTS pairs, for the scatter plot
    y_pred: np.ndarray
    residuals: np.ndarray  # predicted − true, every test row


@dataclass(frozen=True)
class GalleryItem:
    index: int  # row in the test part
    sample: Any  # engine.datasets Sample (kind, value, label)
    true_label: str
    predicted_label: str
    confidence: float | None  # probability of the predicted label (classification)
    correct: bool
    error: float | None = None  # regression: predicted − true


@dataclass
class Evaluation:
    task: str
    metrics: dict[str, float]
    samples: int
    class_names: list[str] | None = None
    confusion: np.ndarray | None = None
    per_class: list[ClassScore] = field(default_factory=list)
    roc: Roc | None = None
    regression: RegressionStats | None = None
    gallery: list[GalleryItem] = field(default_factory=list)

    @property
    def accuracy(self) -> float | None:
        """Share of test rows predicted right (from the confusion matrix)."""
        if self.confusion is None or not self.confusion.sum():
            return None
        return float(np.trace(self.confusion) / self.confusion.sum())

    def summary_lines(self) -> list[str]:
        """The evaluation as terminal lines (the CLI prints these)."""
        lines = [f"Test samples: {self.samples:,}"]
        lines += [f"  {name}: {value:.6g}" for name, value in self.metrics.items()]
        if self.regression is not None:
            stats = self.regression
            lines.append(f"  MAE {stats.mae:.6g} · RMSE {stats.rmse:.6g}")
            if stats.baseline_mae is not None:
                lines.append(f"  naive baseline MAE {stats.baseline_mae:.6g}")
        if self.roc is not None:
            lines.append(f"  ROC AUC {self.roc.auc:.4f}")
        if self.per_class:
            width = max(9, *(len(score.name) for score in self.per_class))
            lines.append(f"  {'class':<{width}}  precision  recall     f1  support")
            for score in self.per_class:
                lines.append(
                    f"  {score.name:<{width}}  {score.precision:9.3f}  {score.recall:6.3f}  "
                    f"{score.f1:5.3f}  {score.support:7d}"
                )
        if self.confusion is not None and len(self.confusion) <= 20:
            lines.append("  confusion matrix (rows: true, columns: predicted)")
            cell = max(4, len(str(int(self.confusion.max()))) + 1)
            for row in self.confusion:
                lines.append("  " + "".join(f"{int(v):>{cell}}" for v in row))
        return lines


@dataclass(frozen=True)
class Prediction:
    """A prediction for one input: ``labels`` are (class name, probability), most likely
    first (classification/multilabel); ``value`` is the predicted number (regression)."""

    task: str
    labels: list[tuple[str, float]]
    value: float | list[float] | None = None

    def text(self) -> str:
        if self.task == "regression":
            value = self.value if isinstance(self.value, list) else [self.value]
            return "Predicted: " + ", ".join(f"{v:.6g}" for v in value)
        best = ", ".join(f"{name} {100 * p:.1f} %" for name, p in self.labels[:5])
        return f"Predicted: {self.labels[0][0]} ({best})"


# --- plain computations -----------------------------------------------------------------


def confusion(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]`` for integer labels in ``0..num_classes-1``."""
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.shape[0]} true labels but {p.shape[0]} predictions")
    if len(t) and (min(t.min(), p.min()) < 0 or max(t.max(), p.max()) >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1}")
    counts = np.bincount(t * num_classes + p, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def class_scores(y_true, y_pred, class_names: list[str]) -> list[ClassScore]:
    """Per-class precision / recall / F1 / support (scikit-learn, 0 where undefined)."""
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(len(class_names))), zero_division=0
    )
    return [
        ClassScore(name, float(p), float(r), float(f), int(s))
        for name, p, r, f, s in zip(class_names, precision, recall, f1, support, strict=True)
    ]


def roc(y_true, scores) -> Roc | None:
    """ROC curve and AUC for a binary task (None when the test part has one class only)."""
    from sklearn.metrics import auc, roc_curve

    y = np.asarray(y_true).ravel()
    if len(np.unique(y)) < 2:
        return None
    fpr, tpr, _ = roc_curve(y, np.asarray(scores).ravel())
    return Roc(fpr=fpr, tpr=tpr, auc=float(auc(fpr, tpr)))


def regression_stats(y_true, y_pred, baseline_mae: float | None = None) -> RegressionStats:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    residuals = p - t
    keep = _spread(len(t), MAX_SCATTER_POINTS)
    return RegressionStats(
        mae=float(np.mean(np.abs(residuals))) if len(t) else float("nan"),
        rmse=float(np.sqrt(np.mean(residuals**2))) if len(t) else float("nan"),
        baseline_mae=None if baseline_mae is None else float(baseline_mae),
        y_true=t[keep],
        y_pred=p[keep],
        residuals=residuals,
    )


def gallery_order(correct, confidence) -> np.ndarray:
    """Row order for the gallery: wrong ones first, most confident first; then right
    ones, least confident first."""
    correct = np.asarray(correct, dtype=bool)
    confidence = np.asarray(confidence, dtype=np.float64)
    wrong = np.flatnonzero(~correct)
    right = np.flatnonzero(correct)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    right = right[np.argsort(confidence[right], kind="stable")]
    return np.concatenate([wrong, right]).astype(np.int64)


def _spread(n: int, limit: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.linspace(0, n - 1, limit).round().astype(np.int64)


# --- turning model outputs into labels ------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def probabilities(outputs: np.ndarray, task: str) -> np.ndarray:
    """Model outputs as probabilities, shape (N, k) (k = 1 for a single sigmoid unit)."""
    out = np.asarray(outputs, dtype=np.float64)
    out = out.reshape(len(out), -1)
    if task == "regression":
        return out
    if out.shape[1] == 1 or task == "multilabel":
        if out.size and (out.min() < 0 or out.max() > 1):
            out = _sigmoid(out)
        return out
    sums = out.sum(axis=1)
    if out.size and (out.min() < 0 or not np.allclose(sums, 1.0, atol=1e-3)):
        out = _softmax(out)
    return out


def predicted_classes(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class index, its probability) per row."""
    if probs.shape[1] == 1:
        positive = probs[:, 0]
        predicted = (positive > 0.5).astype(np.int64)
        return predicted, np.where(predicted == 1, positive, 1.0 - positive)
    predicted = probs.argmax(axis=1)
    return predicted, probs[np.arange(len(probs)), predicted]


def true_classes(labels: np.ndarray) -> np.ndarray:
    """Integer class labels from int, 0/1 float or one-hot labels."""
    y = np.asarray(labels)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1).astype(np.int64)
    return np.rint(y.reshape(-1)).astype(np.int64)


# --- running the model ----------------------------------------------------------------------


def _cancel_callback(cancelled: Callable[[], bool] | None):
    import keras

    class Cancel(keras.callbacks.Callback):
        def _check(self, *_args, **_kwargs):
            if cancelled is not None and cancelled():
                raise EvaluationCancelled

        on_test_batch_end = _check
        on_predict_batch_end = _check

    return Cancel()


def test_metrics(
    model, dataset, batch_size: int = 32, cancelled: Callable[[], bool] | None = None
) -> dict[str, float]:
    """``model.evaluate`` on the dataset's test part, as ``{metric: value}``."""
    arguments = dataset.evaluate_arguments(int(batch_size))
    if arguments is None:
        raise DatasetError(
            "This dataset has no test part to evaluate on.",
            fix="Choose a source or split that keeps test data (test_split > 0).",
        )
    check_fits(model, dataset)
    try:
        metrics = model.evaluate(
            **arguments, verbose=0, return_dict=True, callbacks=[_cancel_callback(cancelled)]
        )
    except (EvaluationCancelled, LayerLabError):
        raise
    except Exception as error:
        raise LayerLabError(
            f"The model could not be evaluated on this dataset: {_one_line(error)}",
            fix="Check that the run's dataset settings still match the model.",
        ) from error
    return {str(key): float(value) for key, value in metrics.items()}


def check_fits(model, dataset) -> None:
    """``LayerLabError`` in plain words when ``model`` cannot take ``dataset``'s samples:
    several inputs (LayerLab's datasets give one), or another input shape. (Keras's own
    messages for these name its internals: "kwargs=<class 'inspect._empty'>".)"""
    inputs = list(getattr(model, "inputs", None) or [])
    if len(inputs) > 1:
        names = ", ".join(str(getattr(i, "name", "?")).split(":")[0] for i in inputs)
        raise LayerLabError(
            f"This model takes {len(inputs)} inputs ({names}); a LayerLab dataset gives one, "
            "so it cannot be evaluated or used for predictions here.",
            fix="It can still be viewed, exported and its weights reused.",
        )
    if not inputs:
        return
    wanted = tuple(inputs[0].shape)[1:]
    given = tuple(getattr(dataset, "input_shape", ()) or ())
    if not wanted or not given:
        return
    if len(wanted) != len(given) or any(
        w is not None and int(w) != int(g) for w, g in zip(wanted, given, strict=False)
    ):
        shown = "(" + ", ".join("any" if w is None else str(int(w)) for w in wanted) + ")"
        raise LayerLabError(
            f"The model takes samples of shape {shown}, but the dataset gives "
            f"{tuple(int(g) for g in given)}.",
            fix="Choose the dataset the model was trained on in the Dataset panel.",
        )


def evaluate(
    model,
    dataset,
    batch_size: int = 32,
    *,
    gallery_size: int = GALLERY_SIZE,
    cancelled: Callable[[], bool] | None = None,
) -> Evaluation:
    """Test metrics plus the task's views (see the module docstring)."""
    metrics = test_metrics(model, dataset, batch_size, cancelled)
    outputs, labels = _predict_test(model, dataset, batch_size, cancelled)
    task = dataset.task
    result = Evaluation(
        task=task, metrics=metrics, samples=len(labels), class_names=dataset.class_names
    )
    if task in CLASSIFICATION_TASKS:
        _classification(result, dataset, outputs, labels, gallery_size)
    elif task == "multilabel":
        _multilabel(result, dataset, outputs, labels, gallery_size)
    else:
        _regression(result, dataset, outputs, labels, gallery_size)
    return result


def _predict_test(model, dataset, batch_size, cancelled) -> tuple[np.ndarray, np.ndarray]:
    arguments = dataset.evaluate_arguments(int(batch_size))
    test = dataset.parts.get("test")
    labels = np.asarray(test.y if test is not None else arguments["y"])
    try:
        outputs = model.predict(
            arguments["x"],
            batch_size=int(batch_size) if "y" in arguments else None,
            verbose=0,
            callbacks=[_cancel_callback(cancelled)],
        )
    except EvaluationCancelled:
        raise
    except Exception as error:
        raise LayerLabError(
            f"The model could not predict on this dataset: {_one_line(error)}"
        ) from error
    outputs = np.asarray(outputs)
    if len(outputs) != len(labels):
        raise LayerLabError(
            f"The model gave {len(outputs)} predictions for {len(labels)} test rows."
        )
    return outputs, labels


def _class_names(dataset, count: int) -> list[str]:
    names = list(dataset.class_names or [])
    if len(names) < count:
        names += [str(i) for i in range(len(names), count)]
    return names


def _samples(dataset, rows: np.ndarray) -> list:
    test = dataset.parts.get("test")
    if not len(rows):
        return []
    inputs = test.x.take(np.asarray(rows, dtype=np.int64))
    return [dataset.describe_input(row) for row in inputs]


def _classification(result, dataset, outputs, labels, gallery_size) -> None:
    probs = probabilities(outputs, dataset.task)
    count = max(dataset.num_classes or 0, probs.shape[1], 2)
    names = _class_names(dataset, count)
    y_true = true_classes(labels)
    y_pred, confidence = predicted_classes(probs)
    result.class_names = names
    result.confusion = confusion(y_true, y_pred, count)
    result.per_class = class_scores(y_true, y_pred, names)
    if dataset.task == "binary":
        positive = probs[:, 0] if probs.shape[1] == 1 else probs[:, 1]
        result.roc = roc(y_true, positive)
    correct = y_true == y_pred
    order = gallery_order(correct, confidence)[:gallery_size]
    samples = _samples(dataset, order)
    result.gallery = [
        GalleryItem(
            index=int(i),
            sample=sample,
            true_label=names[y_true[i]],
            predicted_label=names[y_pred[i]],
            confidence=float(confidence[i]),
            correct=bool(correct[i]),
        )
        for i, sample in zip(order, samples, strict=True)
    ]


def _multilabel(result, dataset, outputs, labels, gallery_size) -> None:
    probs = probabilities(outputs, "multilabel")
    names = _class_names(dataset, probs.shape[1])
    y_true = np.asarray(labels).reshape(len(labels), -1) > 0.5
    y_pred = probs > 0.5
    from sklearn.metrics import precision_recall_fscore_support

    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, zero_division=0
    )
    result.class_names = names
    result.per_class = [
        ClassScore(n, float(p), float(r), float(f), int(s))
        for n, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
    ]
    correct = np.all(y_true == y_pred, axis=1)
    confidence = np.mean(np.where(y_pred, probs, 1.0 - probs), axis=1)
    order = gallery_order(correct, confidence)[:gallery_size]

    def label_set(row) -> str:
        return ", ".join(name for name, on in zip(names, row, strict=True) if on) or "—"

    result.gallery = [
        GalleryItem(
            index=int(i),
            sample=sample,
            true_label=label_set(y_true[i]),
            predicted_label=label_set(y_pred[i]),
            confidence=float(confidence[i]),
            correct=bool(correct[i]),
        )
        for i, sample in zip(order, _samples(dataset, order), strict=True)
    ]


def _regression(result, dataset, outputs, labels, gallery_size) -> None:
    y_true = np.asarray(labels, dtype=np.float64).reshape(len(labels), -1)
    y_pred = np.asarray(outputs, dtype=np.float64).reshape(len(outputs), -1)
    stats = regression_stats(y_true, y_pred, naive_test_mae(dataset, y_true))
    result.regression = stats
    errors = (y_pred - y_true)[:, 0]
    order = np.argsort(-np.abs(errors), kind="stable")[:gallery_size]
    result.gallery = [
        GalleryItem(
            index=int(i),
            sample=sample,
            true_label=f"{y_true[i, 0]:.4g}",
            predicted_label=f"{y_pred[i, 0]:.4g}",
            confidence=None,
            correct=True,
            error=float(errors[i]),
        )
        for i, sample in zip(order, _samples(dataset, order), strict=True)
    ]


def naive_test_mae(dataset, y_true: np.ndarray) -> float | None:
    """The naive forecast's MAE on the evaluated test rows (time series: "the value at the
    window's last row"), so it compares with the model's test MAE; None without one.

    ``dataset.baseline_mae`` is the validation part's, the number to beat while training.
    """
    test = getattr(dataset, "parts", {}).get("test")
    naive = getattr(test.x, "naive_forecast", None) if test is not None else None
    if naive is None:
        return None
    naive = np.asarray(naive, dtype=np.float64).reshape(len(naive), -1)
    truth = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    if naive.shape[0] != truth.shape[0] or naive.shape[1] != 1:
        return None
    return float(np.mean(np.abs(truth[:, :1] - naive)))


# --- new input ------------------------------------------------------------------------------


def predict(model, dataset, raw) -> list[Prediction]:
    """Predictions for new raw input (text, image path, CSV row...), one per encoded row."""
    check_fits(model, dataset)
    batch = dataset.encode_inputs(raw)
    try:
        outputs = np.asarray(model.predict(batch, verbose=0))
    except Exception as error:
        raise LayerLabError(
            f"The model could not predict on this input: {_one_line(error)}"
        ) from error
    task = dataset.task
    if task == "regression":
        rows = outputs.reshape(len(outputs), -1)
        return [
            Prediction(task, [], float(row[0]) if len(row) == 1 else [float(v) for v in row])
            for row in rows
        ]
    probs = probabilities(outputs, task)
    if probs.shape[1] == 1:
        names = _class_names(dataset, 2)
        probs = np.concatenate([1.0 - probs, probs], axis=1)
    else:
        names = _class_names(dataset, probs.shape[1])
    predictions = []
    for row in probs:
        order = np.argsort(-row, kind="stable")
        predictions.append(Prediction(task, [(names[i], float(row[i])) for i in order]))
    return predictions


def predict_one(model, dataset, raw) -> Prediction:
    """The prediction for one new input (the first row when ``raw`` encodes several)."""
    predictions = predict(model, dataset, raw)
    if not predictions:
        raise DatasetError("The input held nothing to predict on.")
    return predictions[0]


def _one_line(error: BaseException) -> str:
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]
