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

import copy
import math
import re

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


# --- compile settings stored in a model file ---------------------------------------------

# Keras 2 optimizer settings that Keras 3 renamed.
_RENAMED_OPTIMIZER_KEYS = {"lr": "learning_rate"}
# Settings a Keras 2/3 file stores that are not the optimizer's own (dropped silently).
_BOOKKEEPING_OPTIMIZER_KEYS = frozenset({"name", "is_legacy_optimizer", "jit_compile"})
# Loss-object settings that say nothing about the loss itself (dropped when turning a
# default-configured loss object into its function name).
_LOSS_BOOKKEEPING = frozenset({"name", "reduction", "dtype"})
_MULTI_OUTPUT = "LayerLab trains models with one output"


def compile_from_training_config(raw) -> tuple[dict | None, str]:
    """The project's compile block for a model file's stored compile settings.

    ``raw`` is a Keras 2 ``.h5`` file's ``training_config`` (``optimizer_config``, ``loss``,
    ``metrics``, ``loss_weights``...) or a Keras 3 ``.keras`` file's ``compile_config``
    (``optimizer``, ``loss``, ``metrics``...), as a dict or its JSON text. Returns
    ``(block, note)``: the block holds the optimizer with its settings (Keras 2 names such as
    ``lr`` become ``learning_rate``; ``decay`` is dropped and the note says so), the loss as a
    full Keras name (or a loss object when it has settings of its own) and the metrics
    (``acc`` becomes ``accuracy``); ``note`` is a plain sentence saying what was taken and
    what was left out. When the settings cannot be translated, ``block`` is None and the
    note says why. Never raises.
    """
    try:
        return _translate_training_config(raw)
    except Exception as error:  # a file's settings must never stop an import
        return None, f"Its compile settings could not be read ({_one_line(error)})."


def _translate_training_config(raw) -> tuple[dict | None, str]:
    import json

    if raw is None:
        return None, "The file has no compile settings."
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return None, "Its compile settings are not readable JSON."
    if not isinstance(raw, dict):
        return None, "Its compile settings are not an object."
    dropped: list[str] = []
    optimizer_setting = raw.get("optimizer_config", raw.get("optimizer"))
    if optimizer_setting is None:
        optimizer, why = "rmsprop", None  # Model.compile's own default
        dropped.append("no optimizer was stored: rmsprop (Keras's default)")
    else:
        optimizer, why = _translate_optimizer(optimizer_setting, dropped)
    if why:
        return None, f"Its optimizer cannot be used: {why}."
    if raw.get("loss") is None:
        return None, "The file stores no loss."
    loss, why = _translate_loss(raw["loss"])
    if why:
        return None, f"Its loss cannot be used: {why}."
    metrics, why = _translate_metrics(raw.get("metrics"), dropped)
    if why:
        return None, f"Its metrics cannot be used: {why}."
    if raw.get("loss_weights") not in (None, [], {}, [1.0], [1]):
        dropped.append("loss_weights (one output)")
    if raw.get("weighted_metrics") not in (None, [], {}):
        dropped.append("weighted_metrics")
    block = {"optimizer": optimizer, "loss": loss, "metrics": metrics}
    from engine.project import _validate_compile

    try:
        block = _validate_compile(copy.deepcopy(block))
    except Exception as error:
        message = getattr(error, "message", None) or _one_line(error)
        return None, f"Its compile settings are not valid in Keras 3: {message}"
    name = optimizer if isinstance(optimizer, str) else optimizer["class_name"]
    metric_text = ", ".join(m if isinstance(m, str) else m.get("class_name") for m in metrics)
    note = f"Compile settings from the file: {name}, {_loss_text(block['loss'])}"
    note += f", metrics {metric_text}." if metrics else ", no metrics."
    if dropped:
        note += " Left out: " + "; ".join(dropped) + "."
    return block, note


def _loss_text(loss) -> str:
    return loss if isinstance(loss, str) else str(loss.get("class_name"))


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _optimizer_classes() -> dict[str, type]:
    return {
        name.lower(): cls
        for name in dir(keras.optimizers)
        if isinstance(cls := getattr(keras.optimizers, name), type)
        and issubclass(cls, keras.optimizers.Optimizer)
        and name not in ("Optimizer", "LossScaleOptimizer")
    }


def _bare_class_name(name: str) -> str:
    """'Custom>Adam', 'keras.optimizers.legacy.Adam', 'Adam' → 'Adam'."""
    return name.split(">")[-1].split(".")[-1]


def _tidy_number(value):
    """A float32-rounded setting (0.009999999776482582) as the value the user typed (0.01)."""
    import numpy as np

    if isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value):
        short = float(f"{value:.7g}")
        if np.float32(short) == np.float32(value):
            return short
    return value


def _translate_optimizer(setting, dropped: list[str]):
    """(optimizer setting, None) or (None, why)."""
    import inspect

    classes = _optimizer_classes()
    if isinstance(setting, str):
        name = _bare_class_name(setting).lower()
        if name not in classes:
            return None, f"unknown optimizer {setting!r}"
        return name, None
    if not isinstance(setting, dict) or not isinstance(setting.get("class_name"), str):
        return None, f"{setting!r} is not an optimizer"
    class_name = _bare_class_name(setting["class_name"])
    config = setting.get("config") or {}
    if not isinstance(config, dict):
        return None, "its settings are not an object"
    if class_name == "LossScaleOptimizer":  # mixed precision: keep the optimizer inside
        inner = config.get("inner_optimizer") or config.get("optimizer")
        dropped.append("loss scaling (LayerLab adds it for mixed precision)")
        return _translate_optimizer(inner, dropped)
    cls = classes.get(class_name.lower())
    if cls is None:
        return None, f"{class_name} is not a Keras 3 optimizer"
    signature = inspect.signature(cls.__init__)
    accepted = set(signature.parameters) - {"self", "kwargs"}
    clean: dict = {}
    for key, value in config.items():
        key = _RENAMED_OPTIMIZER_KEYS.get(key, key)
        if key in _BOOKKEEPING_OPTIMIZER_KEYS:
            continue
        if key == "decay":
            if value:
                dropped.append(
                    f"decay {_tidy_number(value)!r} (Keras 3 has none: use a learning-rate "
                    "schedule or ReduceLROnPlateau)"
                )
            continue
        if key not in accepted:
            dropped.append(f"{cls.__name__} setting {key!r} (not in Keras 3)")
            continue
        default = signature.parameters[key].default
        is_default = default is not inspect.Parameter.empty and value == default
        if key != "learning_rate" and is_default and type(value) is type(default):
            continue  # Keras's default: nothing to keep
        if key == "learning_rate" and isinstance(value, dict):
            schedule = _bare_class_name(str(value.get("class_name")))
            if not isinstance(getattr(keras.optimizers.schedules, schedule, None), type):
                return None, f"unknown learning-rate schedule {value.get('class_name')!r}"
            value = {"class_name": schedule, "config": dict(value.get("config") or {})}
        clean[key] = _tidy_number(value)
    return {"class_name": cls.__name__, "config": clean}, None


def _loss_name(name: str) -> str | None:
    """A loss name or alias ("mse", "categorical_crossentropy") as its full Keras name."""
    try:
        resolved = keras.losses.get(name)
    except (ValueError, TypeError):
        return None
    if isinstance(resolved, keras.losses.Loss):
        return _snake(type(resolved).__name__)
    return getattr(resolved, "__name__", None)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _translate_loss(setting):
    """(loss setting, None) or (None, why)."""
    import inspect

    if isinstance(setting, list) and len(setting) == 1:
        setting = setting[0]
    if isinstance(setting, dict) and "class_name" not in setting:
        if len(setting) == 1:  # {output name: loss}
            setting = next(iter(setting.values()))
        else:
            return None, f"it has one loss per output ({len(setting)}); {_MULTI_OUTPUT}"
    if isinstance(setting, list):
        return None, f"it has one loss per output ({len(setting)}); {_MULTI_OUTPUT}"
    if isinstance(setting, str):
        name = _loss_name(_bare_class_name(setting))
        return (name, None) if name else (None, f"unknown loss {setting!r}")
    if not isinstance(setting, dict):
        return None, f"{setting!r} is not a loss"
    class_name = _bare_class_name(str(setting.get("class_name")))
    config = setting.get("config")
    if class_name == "function" and isinstance(config, str):  # a Keras 3 loss function
        name = _loss_name(config)
        return (name, None) if name else (None, f"unknown loss {config!r}")
    cls = getattr(keras.losses, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, keras.losses.Loss)):
        return None, f"{class_name} is not a Keras loss"
    config = dict(config or {}) if isinstance(config, dict) else {}
    parameters = inspect.signature(cls.__init__).parameters
    own = {
        key: value
        for key, value in config.items()
        if key in parameters and key not in _LOSS_BOOKKEEPING
    }
    defaults = {
        key: parameter.default
        for key, parameter in parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    if all(defaults.get(key, object()) == value for key, value in own.items()):
        name = _loss_name(_snake(class_name))
        if name:
            return name, None
    return {"class_name": class_name, "config": own}, None


def _metric_name(item) -> str | None:
    """A metric name the project accepts, or None when it is not a Keras metric."""
    if isinstance(item, dict):
        config = item.get("config")
        named = _metric_name(config.get("name")) if isinstance(config, dict) else None
        if named:
            return named
        if isinstance(config, dict) and isinstance(config.get("fn"), str):
            item = config["fn"]
        else:
            item = _snake(_bare_class_name(str(item.get("class_name"))))
    if not isinstance(item, str):
        return None
    if item in ("acc", "accuracy"):
        return "accuracy"
    if item in METRIC_SHORTHANDS:
        return item
    try:
        resolved = keras.metrics.get(item)
    except (ValueError, TypeError):
        return None
    if isinstance(resolved, keras.metrics.Metric):
        resolved = type(resolved)
    if isinstance(resolved, type):  # "mae" → MeanAbsoluteError → "mean_absolute_error"
        full = _snake(resolved.__name__)
        try:
            same = keras.metrics.get(full)
        except (ValueError, TypeError):
            return item
        return full if same is resolved or type(same) is resolved else item
    return getattr(resolved, "__name__", item)


def _translate_metrics(setting, dropped: list[str]):
    """(metric names, None) or (None, why)."""
    if setting is None:
        return [], None
    if isinstance(setting, dict):  # {output name: metrics}
        if len(setting) != 1:
            return None, f"it has metrics per output ({len(setting)}); {_MULTI_OUTPUT}"
        setting = next(iter(setting.values()))
    if not isinstance(setting, list):
        setting = [setting]
    if len(setting) == 1 and isinstance(setting[0], list):  # Keras 2.13: one list per output
        setting = setting[0]
    names: list[str] = []
    for item in setting:
        name = _metric_name(item)
        if name is None:
            label = item.get("class_name") if isinstance(item, dict) else item
            dropped.append(f"metric {label!r} (not a Keras 3 metric)")
        elif name not in names:
            names.append(name)
    return names, None


# --- compile settings when a file has none -----------------------------------------------


def suggest_compile(model, dataset=None) -> tuple[dict, str]:
    """A compile block for a model whose file stored none, and a note saying where it came
    from: the dataset's task when ``dataset`` (a loaded ``engine.datasets`` Dataset) is
    given (the window's Suggest: ``engine.datasets.head.suggest_head``), otherwise the
    model's output layer (sigmoid → binary_crossentropy, softmax → sparse categorical,
    linear → mean_squared_error)."""
    if dataset is not None:
        from engine.datasets.head import suggest_head

        suggestion = suggest_head(dataset)
        block = {"optimizer": "adam", "loss": suggestion.loss, "metrics": list(suggestion.metrics)}
        task = getattr(dataset, "task", "")
        return block, (
            f"The file has no compile settings: Suggest chose adam, {suggestion.loss} and "
            f"{', '.join(suggestion.metrics)} for the dataset's {task} task."
        )
    units, activation, label = _output_layer(model)
    if activation == "sigmoid":
        loss = "binary_crossentropy"
        metrics = ["accuracy"] if units == 1 else ["binary_accuracy"]
    elif activation == "softmax":
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        loss, metrics = "mean_squared_error", ["mean_absolute_error"]
    block = {"optimizer": "adam", "loss": loss, "metrics": metrics}
    return block, (
        f"The file has no compile settings: Suggest chose adam, {loss} and "
        f"{', '.join(metrics)} from its output layer ({label})."
    )


def _output_layer(model) -> tuple[int | None, str, str]:
    """(units, activation, 'Dense(1, sigmoid)') of the model's last layer."""
    layers = [
        layer for layer in getattr(model, "layers", []) if type(layer).__name__ != "InputLayer"
    ]
    if not layers:
        return None, "linear", "no layers"
    last = layers[-1]
    if getattr(last, "layers", None):  # a model inside the model: its own output layer
        return _output_layer(last)
    try:
        config = last.get_config()
    except Exception:
        config = {}
    activation = config.get("activation")
    if isinstance(activation, dict):
        activation = activation.get("config", activation.get("class_name"))
    if type(last).__name__ == "Activation" or activation is None:
        activation = config.get("activation", "linear")
    if type(last).__name__ == "Softmax":
        activation = "softmax"
    activation = str(activation or "linear")
    units = config.get("units")
    if units is None:
        shape = getattr(last, "output_shape", None)
        units = shape[-1] if isinstance(shape, tuple) and shape else None
    inside = ", ".join(str(part) for part in (units, activation) if part is not None)
    return units, activation, f"{type(last).__name__}({inside})"
