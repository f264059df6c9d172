"""Optimizer, loss and metrics from a project's ``"compile"`` block, and ``compile_model``.

The block holds what Keras serialises::

    {"optimizer": "adam" | keras.optimizers.serialize(...) dict,
     "loss": "sparse_categorical_crossentropy" | keras.losses.serialize(...) dict,
     "metrics": ["accuracy", "mean_absolute_error", ...]}

Every problem is a ``TrainingError`` naming the field and the fix. ``compile_model`` always
calls ``model.compile`` with keywords (the third positional parameter is ``loss_weights``
in Keras 3).
"""

from __future__ import annotations

import keras

from engine.errors import TrainingError

# Strings Model.compile resolves from the loss itself rather than through keras.metrics.get.
METRIC_SHORTHANDS = frozenset({"accuracy", "acc", "crossentropy", "ce"})

# Metrics that fit each kind of task and label encoding (names keras.metrics.get accepts).
# Keras knows which metrics exist; which ones make sense for a task is not introspectable.
_METRICS_FOR_TASK = {
    "binary": (
        "accuracy",
        "binary_accuracy",
        "auc",
        "precision",
        "recall",
        "true_positives",
        "true_negatives",
        "false_positives",
        "false_negatives",
        "binary_crossentropy",
    ),
    "multiclass_sparse": (
        "accuracy",
        "sparse_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
        "sparse_categorical_crossentropy",
    ),
    "multiclass_onehot": (
        "accuracy",
        "categorical_accuracy",
        "top_k_categorical_accuracy",
        "auc",
        "precision",
        "recall",
        "categorical_crossentropy",
        "kl_divergence",
    ),
    "regression": (
        "mean_absolute_error",
        "mean_squared_error",
        "root_mean_squared_error",
        "mean_absolute_percentage_error",
        "mean_squared_logarithmic_error",
        "log_cosh_error",
        "cosine_similarity",
    ),
}


def metric_choices(task: str, loss: str | None = None) -> list[str]:
    """The ``keras.metrics`` names that fit ``task`` ("binary", "multiclass", "regression").

    For "multiclass" the loss decides the label encoding: integer labels
    (``sparse_categorical_crossentropy``, the default) or one-hot
    (``categorical_crossentropy``).
    """
    if task == "multiclass":
        key = "multiclass_onehot" if loss == "categorical_crossentropy" else "multiclass_sparse"
    else:
        key = task
    return list(_METRICS_FOR_TASK.get(key, ()))


def make_optimizer(setting) -> keras.optimizers.Optimizer:
    """An optimizer from a name ("adam") or a ``keras.optimizers.serialize`` dict.

    The dict may be the short form ``{"class_name": "SGD", "config": {"learning_rate": 0.01,
    "momentum": 0.9, "nesterov": true}}``; config keys are the optimizer's own arguments.
    """
    field = "compile.optimizer"
    if isinstance(setting, str):
        try:
            return keras.optimizers.get(setting)
        except ValueError as error:
            raise TrainingError(
                f"Unknown optimizer {setting!r} ({field}).",
                field=field,
                fix="Use one of adam, sgd, rmsprop, adamw, adagrad, adadelta, nadam.",
            ) from error
    if not isinstance(setting, dict) or not isinstance(setting.get("class_name"), str):
        raise TrainingError(
            f"The optimizer ({field}) must be an optimizer name or a "
            f"keras.optimizers.serialize() object, got {setting!r}.",
            field=field,
        )
    config = setting.get("config", {})
    if not isinstance(config, dict):
        raise TrainingError(
            f"The optimizer's settings ({field}.config) must be an object.", field=field
        )
    try:
        optimizer = keras.optimizers.deserialize({**setting, "config": dict(config)})
    except (TypeError, ValueError) as error:
        raise TrainingError(
            f"The optimizer {setting['class_name']} ({field}) cannot be made from {config!r} "
            f"({error}).",
            field=field,
            fix="Check the optimizer's settings (learning_rate, momentum, beta_1, ...).",
        ) from error
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TrainingError(
            f"The class {setting['class_name']!r} ({field}) is not an optimizer.", field=field
        )
    return optimizer


def resolve_loss(setting):
    """The loss for ``model.compile``: a full Keras name (kept as the string) or a loss object."""
    field = "compile.loss"
    if isinstance(setting, str):
        try:
            keras.losses.get(setting)
        except ValueError as error:
            raise TrainingError(
                f"Unknown loss {setting!r} ({field}).",
                field=field,
                fix="Use a full Keras loss name such as sparse_categorical_crossentropy, "
                "binary_crossentropy or mean_squared_error.",
            ) from error
        return setting
    if isinstance(setting, dict) and isinstance(setting.get("class_name"), str):
        try:
            return keras.losses.deserialize(setting)
        except (TypeError, ValueError) as error:
            raise TrainingError(
                f"The loss {setting['class_name']} ({field}) cannot be made ({error}).",
                field=field,
            ) from error
    raise TrainingError(
        f"The loss ({field}) must be a Keras loss name, got {setting!r}.", field=field
    )


def resolve_metrics(settings) -> list:
    """Metrics for ``model.compile``: names (checked) and serialised metric objects."""
    field = "compile.metrics"
    if settings is None:
        return []
    if not isinstance(settings, list | tuple):
        raise TrainingError(f"The metrics ({field}) must be a list, got {settings!r}.", field=field)
    metrics = []
    for item in settings:
        if isinstance(item, str):
            if item not in METRIC_SHORTHANDS:
                try:
                    keras.metrics.get(item)
                except ValueError as error:
                    raise TrainingError(
                        f"Unknown metric {item!r} ({field}).",
                        field=field,
                        fix="Use a keras.metrics name such as accuracy or mean_absolute_error.",
                    ) from error
            metrics.append(item)
        elif isinstance(item, dict) and isinstance(item.get("class_name"), str):
            try:
                metrics.append(keras.metrics.deserialize(item))
            except (TypeError, ValueError) as error:
                raise TrainingError(
                    f"The metric {item['class_name']} ({field}) cannot be made ({error}).",
                    field=field,
                ) from error
        else:
            raise TrainingError(f"The entry {item!r} in {field} is not a metric.", field=field)
    return metrics


def compile_model(model: keras.Model, compile_block: dict, *, loss_scale: bool = False) -> None:
    """Compile ``model`` from a project's compile block (keywords only).

    ``loss_scale`` wraps the optimizer in a ``LossScaleOptimizer``, which float16 layers
    need so that small gradients do not underflow (see ``training.mixed_precision_spec``).
    """
    if not isinstance(compile_block, dict):
        raise TrainingError(
            "The compile settings must be an object with optimizer, loss and metrics."
        )
    if "loss" not in compile_block:
        raise TrainingError(
            "The compile settings have no loss (compile.loss).",
            field="compile.loss",
            fix="Set a loss, e.g. sparse_categorical_crossentropy or mean_squared_error.",
        )
    optimizer = make_optimizer(compile_block.get("optimizer", "rmsprop"))
    if loss_scale:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(
        optimizer=optimizer,
        loss=resolve_loss(compile_block["loss"]),
        metrics=resolve_metrics(compile_block.get("metrics")),
    )
