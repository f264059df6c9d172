"""Train a project: the one engine behind the window's Train button and ``main.py train``.

``run(project, sink=..., control=...)`` loads the dataset (unless given), builds the model
from the project's Sequential config, compiles it from the compile block and fits it with
the fit block, sending ``engine.events`` to ``sink`` from the thread that calls it:

    TrainBegin, then per epoch BatchesEnd... (coalesced, every batch's loss once),
    EpochEnd and a LogLine, and TrainEnd last, on every way out.

``run`` never raises for anything a user can cause: a bad project, data that does not fit
the model, a wrong loss, out-of-memory, a callback that fails -- each ends the run with
status "failed" and a message that names the problem and the fix, and the next run starts
clean. Only an exception raised by ``sink`` itself while handling ``TrainEnd`` propagates.

A NaN or infinite loss fails the run (the weights of the last finite epoch are put back in
the model, but nothing trained is worth keeping). A loss that grows past a million times the
first batch's is a warning: a ``LogLine`` and ``RunResult.warnings`` (kept in the run record).

Fit settings (the project's ``"fit"`` block): epochs, batch_size, shuffle, seed (a seed
makes a run repeatable: ``keras.utils.set_random_seed`` plus op determinism on TensorFlow),
class_weight (null, "balanced" or {"class": weight}), validation_split (given to the
dataset loader), callbacks ([{"class_name": ..., "config": {...}}]: EarlyStopping,
ReduceLROnPlateau, ModelCheckpoint, CSVLogger, TensorBoard, TerminateOnNaN) and
mixed_precision (float16 compute on a GPU; ignored on CPU). Files the callbacks write stay
inside ``workdir``; TensorBoard logs go to ``workdir/logs/<run start time>``.
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import keras
import numpy as np

from engine.callbacks import (
    Clock,
    DivergenceWatch,
    LearningRateInLogs,
    NanGuard,
    NonFiniteLoss,
    ProgressReporter,
    StopControl,
    StopRequested,
    TrainControl,
    scalar_logs,
)
from engine.chunked_feed import chunked_arguments
from engine.compiling import compile_model
from engine.errors import LayerLabError, TrainingError
from engine.events import LogLine, Sink, Status, TrainBegin, TrainEnd
from engine.project import ALLOWED_CALLBACKS
from engine.runs import learned_block

__all__ = ["RunResult", "TrainControl", "compile_model", "device_description", "run"]

SNAPSHOT_KEYS = ("model", "dataset", "compile", "fit")

# TerminateOnNaN is always on (NanGuard) and accepted for projects written by Keras
# scripts; the file-writing callbacks write only inside workdir.
_DEFAULT_PATHS = {
    "ModelCheckpoint": ("filepath", "checkpoints/best.keras"),
    "CSVLogger": ("filename", "training_log.csv"),
}


def ignore(event) -> None:
    """A sink that drops every event."""


@dataclass
class RunResult:
    """What a run produced. ``history`` holds one value per completed epoch per Keras log name;
    ``batch_losses`` every batch's loss over the whole run (``steps_per_epoch`` per epoch,
    a stopped epoch's batches included). ``snapshot`` holds the project's model, dataset,
    compile and fit blocks as the run used them: an ``epochs`` override is written into
    ``fit``, and a text folder's learned vocabulary into ``dataset`` (see
    ``engine.runs.learned_block``)."""

    status: Status
    message: str
    epochs_completed: int
    seconds: float
    started_at: str
    history: dict[str, list[float]] = field(default_factory=dict)
    batch_losses: list[float] = field(default_factory=list)
    steps_per_epoch: int | None = None
    test_metrics: dict[str, float] | None = None
    device: str = ""
    model: Any = None
    dataset: Any = None
    snapshot: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)  # each completed epoch's time
    weights_history: dict | None = None  # fit.record_weights: engine.weight_recorder's history
    is_chief: bool = True  # False on a multi-worker run's other workers: they write nothing


@dataclass(frozen=True)
class FitSettings:
    """The project's fit block, checked."""

    epochs: int
    batch_size: int
    validation_split: float
    shuffle: bool
    seed: int | None
    class_weight: Any
    callbacks: list
    mixed_precision: bool


def device_description() -> str:
    """Where training runs: 'CPU', 'GPU 0: NVIDIA H100 80GB HBM3', ... (any Keras backend)."""
    name = keras.config.backend()
    if name == "tensorflow":
        from engine import backend

        return backend.device_description()
    if name == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform == "cpu":
            return "CPU"
        return f"{device.platform.upper()} {device.id}: {device.device_kind}"
    return f"{name} backend"


def prepare_devices() -> list[str]:
    """Enable GPU memory growth before TensorFlow touches a GPU; notes on what failed."""
    if keras.config.backend() == "tensorflow":
        from engine import backend

        return backend.prepare_devices()
    return []


def run(
    project: dict,
    *,
    sink: Sink = ignore,
    control: TrainControl | None = None,
    dataset=None,
    workdir: Path | None = None,
    epochs: int | None = None,
    evaluate_test: bool = True,
    project_path: str | Path | None = None,
    devices: Any = None,
) -> RunResult:
    """Train ``project`` and return what happened (see the module docstring).

    ``dataset``: an already loaded ``engine.datasets`` Dataset (else the project's dataset
    block is loaded). ``workdir``: where callbacks write files (default: the current folder).
    ``epochs`` overrides the project's. ``evaluate_test``: evaluate on the dataset's test
    part after a run that was not stopped by the user. ``project_path``: the project file,
    where files the project names by relative path (its initial ``weights``) are found
    (default: in ``workdir``).

    When the project has initial weights and ``fit.start_from`` is "weights", they are
    loaded by layer name right after the model is built (``engine.project_weights``), and
    one LogLine says which layers were loaded and which kept fresh.

    ``devices`` overrides the project's ``fit["devices"]`` (``engine.distribution``): the
    model is built, compiled and trained in that strategy's scope. A multi-worker run's
    workers all call ``run``; only the chief (``result.is_chief``) should write anything.
    """
    with custom_gradients_released():
        runner = _Run(project, sink, control or TrainControl(), dataset, workdir, epochs)
        runner.project_path = Path(project_path) if project_path is not None else None
        runner.devices_override = devices
        return runner.execute(evaluate_test)


_CUSTOM_GRADIENT_PREFIX = "CustomGradient-"


@contextlib.contextmanager
def custom_gradients_released():
    """Forget the custom gradients TensorFlow registered while the block ran.

    Tracing a train step on the TensorFlow backend registers gradient functions for
    ``tf.custom_gradient`` ops in a process-wide registry that is never emptied (Keras's
    optimizer sums gradients with ``ReplicaContext.all_reduce``, which uses one): each entry
    keeps the traced graph alive, about 4.6 MB per run of a small MLP, for the life of the
    process. They are needed only while the step is traced; afterwards the trained model
    still predicts, evaluates, saves and trains again (a new trace registers its own).
    """
    registry = None
    if keras.config.backend() == "tensorflow":
        with contextlib.suppress(Exception):  # a private TensorFlow detail: best effort
            from tensorflow.python.framework import ops

            registry = ops._gradient_registry._registry
    before = set(registry) if isinstance(registry, dict) else None
    try:
        yield
    finally:
        if before is not None:
            for name in set(registry) - before:
                if isinstance(name, str) and name.startswith(_CUSTOM_GRADIENT_PREFIX):
                    registry.pop(name, None)


class _SinkFailed(Exception):
    """The sink raised while handling an event during fit."""


class _Run:
    def __init__(self, project, sink, control, dataset, workdir, epochs):
        self.project = project
        self.user_sink = sink
        self.control = control
        self.dataset = dataset
        self.workdir = Path(workdir) if workdir is not None else Path.cwd()
        self.epochs_override = epochs
        self.clock = Clock()
        self.started = datetime.now().astimezone()
        self.reporter: ProgressReporter | None = None
        self.recorder = None  # engine.weight_recorder.WeightRecorder when fit.record_weights
        self.nan_guard: NanGuard | None = None
        self.divergence: DivergenceWatch | None = None
        self.user_callbacks: list = []
        self.model = None
        self.settings: FitSettings | None = None
        self.steps_per_epoch: int | None = None
        self.device = ""
        self.project_path: Path | None = None  # the project file, for relative paths
        self.devices_override = None  # engine.distribution: where to train (else fit.devices)
        self.distribution = None
        self._scopes = contextlib.ExitStack()  # the strategy's scope, from build to the end

    def sink(self, event) -> None:
        try:
            self.user_sink(event)
        except Exception as error:
            raise _SinkFailed(error) from error

    def execute(self, evaluate_test: bool) -> RunResult:
        begin = self.clock.now()
        project = self.project if isinstance(self.project, dict) else {}
        snapshot = {key: copy.deepcopy(project.get(key)) for key in SNAPSHOT_KEYS}
        # what the run started from, so it can be reproduced: word vectors, initial weights
        if project.get("embeddings"):
            snapshot["embeddings"] = copy.deepcopy(project["embeddings"])
        if project.get("weights") and (project.get("fit") or {}).get("start_from") != "fresh":
            snapshot["weights"] = Path(str(project["weights"])).name
        result = RunResult(
            status="failed",
            message="",
            epochs_completed=0,
            seconds=0.0,
            started_at=self.started.isoformat(timespec="seconds"),
            snapshot=snapshot,
        )
        device_notes: list[str] = []
        try:
            device_notes = prepare_devices()  # before anything touches a GPU
            self.device = device_description()
        except Exception as error:  # a broken driver must not stop a CPU run
            self.device = f"unknown device ({error})"
        result.device = self.device
        fit_running = False
        try:
            if not isinstance(self.project, dict):
                raise TrainingError(
                    f"A project must be an object with model, dataset, compile and fit, "
                    f"got {type(self.project).__name__}."
                )
            self.settings = fit_settings(self.project.get("fit"), self.epochs_override)
            if self.epochs_override is not None and isinstance(snapshot.get("fit"), dict):
                snapshot["fit"]["epochs"] = self.settings.epochs  # what it really ran
            self._choose_devices(result)
            for note in device_notes:
                self.sink(LogLine(note, level="warning"))
            if self.control.stop_requested:
                raise StopRequested
            self._prepare()
            result.model, result.dataset = self.model, self.dataset
            learned = learned_block(snapshot.get("dataset"), self.dataset)
            if learned is not None:  # a text folder's vocabulary: the run keeps reading text
                snapshot["dataset"] = learned  # the way it was trained
            self.sink(
                TrainBegin(
                    epochs=self.settings.epochs,
                    steps_per_epoch=self.steps_per_epoch,
                    batch_size=self.settings.batch_size,
                    samples=getattr(self.dataset, "train_size", None),
                    device=result.device,
                )
            )
            arguments = chunked_arguments(self.fit_arguments)  # no GIL-long conversion in fit
            fit_running = True
            self.model.fit(
                **arguments,
                epochs=self.settings.epochs,
                callbacks=self.callbacks,
                class_weight=self.class_weight,
                verbose=0,
            )
            fit_running = False
            result.status, result.message = self._finished_status()
            if evaluate_test:
                result.test_metrics = self._evaluate_test(result)
        except StopRequested:
            result.status = "stopped"
            result.message = self._stopped_message()
        except NonFiniteLoss as loss:
            result.status = "failed"
            result.message = self._nan_message(loss)
        except _SinkFailed as error:
            cause = error.args[0]  # Keras re-raises "from None": __cause__ is gone
            result.status = "failed"
            result.message = (
                f"Training stopped because showing its progress failed: "
                f"{type(cause).__name__}: {cause}."
            )
        except LayerLabError as error:
            result.status = "failed"
            result.message = str(error)
        except Exception as error:
            result.status = "failed"
            lost = self.distribution.failure_message(error) if self.distribution else None
            result.message = lost or explain_failure(error, self.settings)
        finally:
            if fit_running:
                self._end_interrupted_fit(result)
            self._scopes.close()
        if self.reporter is not None:
            result.history = self.reporter.history
            result.epoch_seconds = list(self.reporter.epoch_seconds)
            result.batch_losses = self.reporter.batch_losses
            result.epochs_completed = self.reporter.epochs_completed
        if self.recorder is not None:
            result.weights_history = self.recorder.history()
        if self.divergence is not None and self.divergence.warning:
            result.warnings.append(self.divergence.warning)
        result.steps_per_epoch = self.steps_per_epoch
        result.seconds = self.clock.now() - begin
        if result.status == "failed":
            with contextlib.suppress(_SinkFailed):
                self.sink(LogLine(result.message, level="error"))
        self.user_sink(
            TrainEnd(
                status=result.status,
                message=result.message,
                epochs_completed=result.epochs_completed,
                seconds=result.seconds,
                history=copy.deepcopy(result.history),
            )
        )
        return result

    # --- before fit ----------------------------------------------------------------

    def _prepare(self) -> None:
        settings = self.settings
        compile_block = self.project.get("compile")
        if not isinstance(compile_block, dict):
            raise TrainingError("compile must be an object with optimizer, loss and metrics.")
        if self.dataset is None:
            from engine.datasets import load_dataset

            try:
                self.dataset = load_dataset(
                    self.project.get("dataset"),
                    loss=compile_block.get("loss"),
                    validation_split=settings.validation_split,
                )
            except MemoryError as error:  # the batch size plays no part in loading
                raise TrainingError(DATA_OUT_OF_MEMORY) from error
        if self.control.stop_requested:
            raise StopRequested
        keras.backend.clear_session()  # also runs the garbage collector
        self._set_seed(settings.seed)
        from engine.spec import build_model

        spec = self.project.get("model")
        if settings.mixed_precision:
            if self.device == "CPU":
                self.sink(LogLine("Mixed precision needs a GPU; training in float32.", "warning"))
            else:
                spec = mixed_precision_spec(spec)
        self._scopes.enter_context(self.distribution.scope())  # build, compile, fit in it
        self.model = build_model(spec, input_shape=self.dataset.input_shape)
        self._load_initial_weights()
        from engine.embeddings import apply_embeddings  # word vectors win over the weights

        folder = self.project_path.parent if self.project_path is not None else self.workdir
        for line in apply_embeddings(self.model, self.project, self.dataset, folder):
            self.sink(LogLine(line))
        compile_model(self.model, compile_block, loss_scale=spec is not self.project.get("model"))
        self.distribution.prepare_model(self.model)
        from engine.datasets.labels import check_labels_fit_output

        check_labels_fit_output(
            self.dataset,
            getattr(self.model, "output_shape", (None,))[-1],
            compile_block.get("loss"),
        )
        self.fit_arguments = self.dataset.fit_arguments(
            settings.batch_size, settings.shuffle, settings.seed
        )
        self.steps_per_epoch = self._steps_per_epoch()
        self.class_weight = resolve_class_weight(
            settings.class_weight, self.fit_arguments, self.dataset
        )
        self.user_callbacks = make_callbacks(settings.callbacks, self.workdir, self.started)
        self.reporter = ProgressReporter(self.sink, self.clock, self._batch_size_of)
        self.nan_guard = NanGuard()
        self.divergence = DivergenceWatch(self.sink)
        self.callbacks = [
            LearningRateInLogs(),
            *self.user_callbacks,
            self.reporter,
            self.nan_guard,
            self.divergence,
            StopControl(self.control, self.clock),
        ]
        self.callbacks.insert(-1, _live_activations(self.sink, self.control))  # window asks
        if self.project["fit"].get("record_weights") is True:  # histograms of the weights
            from engine.weight_recorder import WeightRecorder, validation_sample

            self.recorder = WeightRecorder(self.sink, validation_sample(self.dataset))
            self.callbacks.insert(-1, self.recorder)  # before StopControl: its epoch is kept

    def _load_initial_weights(self) -> None:
        """The project's initial weights, by layer name, when it starts from them."""
        from engine.project_weights import weights_for_run

        report = weights_for_run(self.model, self.project, self.project_path, self.workdir)
        if report is not None:
            self.sink(LogLine(report.message(), level="info" if report.complete else "warning"))

    def _choose_devices(self, result: RunResult) -> None:
        """The run's ``engine.distribution.Distribution`` (a plain message, not a TensorFlow
        error, when the machine lacks the device); the record names the devices."""
        from engine.distribution import strategy_for

        fit = self.project.get("fit") if isinstance(self.project.get("fit"), dict) else {}
        setting = self.devices_override if self.devices_override is not None else fit.get("devices")
        self.distribution = strategy_for(setting)
        self.distribution.check_batch(self.settings.batch_size)
        result.is_chief = self.distribution.is_chief
        if self.distribution.description:
            self.device = result.device = self.distribution.description

    def _set_seed(self, seed: int | None) -> None:
        if seed is not None:
            keras.utils.set_random_seed(seed)
        if keras.config.backend() == "tensorflow":
            from engine import backend

            backend.set_op_determinism(seed is not None)

    def _steps_per_epoch(self) -> int | None:
        x = self.fit_arguments.get("x")
        if isinstance(x, keras.utils.PyDataset):
            return len(x)
        samples = getattr(self.dataset, "train_size", None)
        if samples is None and hasattr(x, "__len__"):
            samples = len(x)
        if samples is None:
            return None
        return max(1, math.ceil(samples / self.settings.batch_size))

    def _batch_size_of(self, step: int) -> int:
        """Samples in batch ``step``: the batch size, less in the last batch of an epoch."""
        size = self.settings.batch_size
        samples = getattr(self.dataset, "train_size", None)
        if samples and self.steps_per_epoch and step == self.steps_per_epoch - 1:
            rest = samples - size * (self.steps_per_epoch - 1)
            if 0 < rest <= size:
                return rest
        return size

    # --- after fit -----------------------------------------------------------------

    def _finished_status(self) -> tuple[Status, str]:
        epochs = self.reporter.epochs_completed
        for callback in self.user_callbacks:
            if isinstance(callback, keras.callbacks.EarlyStopping) and callback.stopped_epoch:
                restored = (
                    f" The weights of the best epoch ({callback.best_epoch + 1}) were restored."
                    if callback.restore_best_weights and callback.best_weights is not None
                    else ""
                )
                return "early_stopped", (
                    f"EarlyStopping stopped the run at epoch {callback.stopped_epoch + 1}: "
                    f"{callback.monitor} did not improve for {callback.patience} "
                    f"epoch{'s' if callback.patience != 1 else ''}.{restored}"
                )
        return "completed", f"Trained {epochs} epoch{'s' if epochs != 1 else ''}."

    def _evaluate_test(self, result: RunResult) -> dict[str, float] | None:
        """Test metrics, or None (no test part, stopped, or failed: the trained model and
        the run's status stand, the message says why there are no test metrics)."""
        arguments = self.dataset.evaluate_arguments(self.settings.batch_size)
        if arguments is None:
            return None
        try:
            metrics = self.model.evaluate(
                **chunked_arguments(arguments),
                verbose=0,
                return_dict=True,
                callbacks=[StopControl(self.control, self.clock)],
            )
        except StopRequested:
            self.sink(LogLine("Test evaluation stopped.", level="warning"))
            return None
        except Exception as error:
            detail = self.distribution.failure_message(error) if self.distribution else None
            problem = f"Evaluating on the test part failed: {detail or clean_message(error)}"
            result.message = f"{result.message} {problem}"
            self.sink(LogLine(problem, level="warning"))
            return None
        test = scalar_logs(metrics)
        self.sink(LogLine("Test: " + " - ".join(f"{k}: {v:.4g}" for k, v in test.items())))
        return test

    def _end_interrupted_fit(self, result: RunResult) -> None:
        """Tidy up after an exception left ``fit`` mid-epoch: send the batches not yet sent,
        let the project's callbacks close their files (and EarlyStopping restore its best
        weights), put the last finite weights back after a NaN, and drop Keras's cached
        validation iterator, which only a completed fit deletes."""
        if self.reporter is not None:
            with contextlib.suppress(_SinkFailed):
                self.reporter.flush()
        for callback in self.user_callbacks:
            try:
                callback.on_train_end({})
            except Exception as error:
                self.user_sink(
                    LogLine(f"{type(callback).__name__} could not finish: {error}", "warning")
                )
        if self.nan_guard is not None and self.nan_guard.tripped:
            self.nan_guard.restore()
        if self.model is not None and hasattr(self.model, "_eval_epoch_iterator"):
            with contextlib.suppress(AttributeError):
                del self.model._eval_epoch_iterator

    def _stopped_message(self) -> str:
        if self.reporter is None or not self.reporter.batch_losses:
            return "Stopped before training began."
        epochs = self.reporter.epochs_completed
        return (
            f"Stopped by the user after {epochs} complete epoch{'s' if epochs != 1 else ''}; "
            "the weights and history so far are kept."
        )

    def _nan_message(self, loss: NonFiniteLoss) -> str:
        where = f"epoch {loss.epoch + 1}, batch {loss.step + 1}"
        value = "NaN" if math.isnan(loss.value) else str(loss.value)
        return (
            f"Training failed: the loss became {value} at {where}, so the model did not "
            "learn. Try a smaller learning rate, normalised inputs or gradient clipping "
            "(clipnorm in the optimizer)."
        )


# --- settings ----------------------------------------------------------------------


def fit_settings(fit: Any, epochs: int | None = None) -> FitSettings:
    """Check the project's fit block (missing keys take LayerLab's defaults)."""
    if fit is None:
        fit = {}
    if not isinstance(fit, dict):
        raise TrainingError("fit must be an object with epochs, batch_size, ...", field="fit")

    def positive_int(key: str, default: int) -> int:
        value = fit.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TrainingError(
                f"fit.{key} must be a positive whole number, got {value!r}.", field=f"fit.{key}"
            )
        return value

    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise TrainingError(f"The number of epochs must be at least 1, got {epochs!r}.")
        chosen_epochs = epochs
    else:
        chosen_epochs = positive_int("epochs", 20)
    split = fit.get("validation_split", 0.0)
    if isinstance(split, bool) or not isinstance(split, int | float) or not 0 <= split < 1:
        raise TrainingError(
            f"fit.validation_split must be from 0 up to (not including) 1, got {split!r}.",
            field="fit.validation_split",
        )
    seed = fit.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise TrainingError(
            f"fit.seed must be a whole number (0 or more) or empty, got {seed!r}.",
            field="fit.seed",
        )
    callbacks = fit.get("callbacks") or []
    if not isinstance(callbacks, list):
        raise TrainingError("fit.callbacks must be a list.", field="fit.callbacks")
    return FitSettings(
        epochs=chosen_epochs,
        batch_size=positive_int("batch_size", 32),
        validation_split=float(split),
        shuffle=bool(fit.get("shuffle", True)),
        seed=seed,
        class_weight=fit.get("class_weight"),
        callbacks=callbacks,
        mixed_precision=bool(fit.get("mixed_precision", False)),
    )


def mixed_precision_spec(spec: dict) -> dict:
    """A copy of the model spec computing in float16 (variables in float32), except the last
    layer, which stays float32 so that softmax/sigmoid outputs and the loss are stable.

    Layer configs carry their own dtype policy, so Keras's global policy would not reach a
    model built from a config; the model's own policy makes ``compile`` add loss scaling.
    """
    mixed = copy.deepcopy(spec)
    policy = {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "mixed_float16"},
        "registered_name": None,
    }
    layers = [layer for layer in mixed.get("layers", []) if layer.get("class_name") != "InputLayer"]
    for layer in layers[:-1]:
        layer.setdefault("config", {})["dtype"] = copy.deepcopy(policy)
    return mixed


def train_labels(fit_arguments: dict) -> np.ndarray | None:
    """The training labels as class indices, from arrays or a PyDataset's batches."""
    y = fit_arguments.get("y")
    x = fit_arguments.get("x")
    if y is None and isinstance(x, keras.utils.PyDataset):
        y = getattr(x, "labels", None)
        if y is None:
            y = np.concatenate([np.asarray(x[i][1]) for i in range(len(x))])
    if y is None:
        return None
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] > 1:
        return np.argmax(y, axis=-1)
    return np.round(y.reshape(len(y))).astype(np.int64)


def resolve_class_weight(setting: Any, fit_arguments: dict, dataset) -> dict[int, float] | None:
    """Keras's class_weight dict from null, "balanced" or {"class": weight}."""
    if setting is None:
        return None
    field_name = "fit.class_weight"
    if getattr(dataset, "task", None) == "regression":
        raise TrainingError(
            "fit.class_weight only applies to classification, but this dataset is a "
            "regression task.",
            field=field_name,
            fix="Set class weights to none.",
        )
    if setting == "balanced":
        labels = train_labels(fit_arguments)
        if labels is None:
            raise TrainingError(
                "Balanced class weights need the training labels, which this dataset does "
                "not provide.",
                field=field_name,
            )
        from sklearn.utils.class_weight import compute_class_weight

        classes = np.unique(labels)
        weights = compute_class_weight("balanced", classes=classes, y=labels)
        return {int(c): float(w) for c, w in zip(classes, weights, strict=True)}
    if isinstance(setting, dict):
        weights = {}
        for key, value in setting.items():
            try:
                index = int(key)
                weight = float(value)
            except (TypeError, ValueError) as error:
                raise TrainingError(
                    f"{field_name}: {key!r}: {value!r} is not a class index and a weight.",
                    field=field_name,
                ) from error
            if index < 0 or not math.isfinite(weight) or weight < 0:
                raise TrainingError(
                    f"{field_name}: class {key!r} needs an index of 0 or more and a weight "
                    f"of 0 or more, got {value!r}.",
                    field=field_name,
                )
            weights[index] = weight
        return weights
    raise TrainingError(
        f'{field_name} must be empty, "balanced" or {{"class": weight}}, got {setting!r}.',
        field=field_name,
    )


def _inside(workdir: Path, relative: Any, field_name: str) -> Path:
    """``workdir / relative``, refusing absolute paths and ``..`` that leave ``workdir``."""
    if not isinstance(relative, str) or not relative.strip():
        raise TrainingError(f"{field_name} must be a file path.", field=field_name)
    path = Path(relative)
    resolved_root = workdir.resolve()
    target = (resolved_root / path).resolve()
    if path.is_absolute() or not target.is_relative_to(resolved_root):
        raise TrainingError(
            f"{field_name}: {relative!r} is outside the project's folder.",
            field=field_name,
            fix="Use a path relative to the project, such as checkpoints/best.keras.",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _live_activations(sink, control):
    from engine.live_activations import LiveActivations  # layer outputs at epoch ends

    return LiveActivations(sink, control)


def make_callbacks(settings: list, workdir: Path, started: datetime) -> list:
    """Keras callbacks from the project's ``fit.callbacks`` list."""
    callbacks = []
    for index, item in enumerate(settings):
        field_name = f"fit.callbacks[{index}]"
        if not isinstance(item, dict) or item.get("class_name") not in ALLOWED_CALLBACKS:
            name = item.get("class_name") if isinstance(item, dict) else item
            raise TrainingError(
                f"{field_name}: callback {name!r} is not available.",
                field=field_name,
                fix="Use " + ", ".join(ALLOWED_CALLBACKS) + ".",
            )
        class_name = item["class_name"]
        config = dict(item.get("config") or {})
        if class_name == "TerminateOnNaN":
            continue  # always on: NanGuard also restores the last finite weights
        if class_name in _DEFAULT_PATHS:
            key, default = _DEFAULT_PATHS[class_name]
            config[key] = str(_inside(workdir, config.get(key, default), f"{field_name}.{key}"))
        if class_name == "TensorBoard":
            folder = _inside(workdir, config.get("log_dir", "logs"), f"{field_name}.log_dir")
            config["log_dir"] = str(folder / started.strftime("%Y%m%d-%H%M%S"))
        config.pop("verbose", None)
        try:
            callbacks.append(getattr(keras.callbacks, class_name)(**config))
        except (TypeError, ValueError, ImportError) as error:
            raise TrainingError(
                f"{field_name} ({class_name}): {clean_message(error)}",
                field=field_name,
                fix="Check its settings.",
            ) from error
    return callbacks


# --- failures ----------------------------------------------------------------------

DATA_OUT_OF_MEMORY = (
    "Loading the dataset ran out of memory. Use a smaller file (fewer rows or columns), "
    "smaller images, or a machine with more memory; the batch size does not change this."
)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def clean_message(error: BaseException, limit: int = 300) -> str:
    """A Keras/TensorFlow message without ANSI colours, tracebacks or graph node dumps."""
    text = _ANSI.sub("", str(error)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [
        line
        for line in lines
        if not line.startswith(("File ", "Traceback", "Detected at node", "Stack trace"))
        and not line.startswith(("Graph execution error", "[[", "{{"))
        and "defined at (most recent call last)" not in line
    ]
    message = " ".join(useful or lines)[:limit].strip()
    return message or type(error).__name__


def explain_failure(error: BaseException, settings: FitSettings | None) -> str:
    """A plain sentence for an exception raised by Keras, TensorFlow or the data."""
    name = type(error).__name__
    raw = _ANSI.sub("", str(error))
    batch = settings.batch_size if settings is not None else None
    if (
        name in ("ResourceExhaustedError", "OutOfMemoryError", "MemoryError")
        or "RESOURCE_EXHAUSTED" in raw
        or "out of memory" in raw.lower()
    ):
        smaller = f" (now {batch}; try {max(1, batch // 2)})" if batch else ""
        return f"Training ran out of memory. Use a smaller batch size{smaller}, or a smaller model."
    if name == "TBNotInstalledError":
        return (
            "The TensorBoard callback needs the tensorboard package: install it "
            "(pip install tensorboard) or remove the callback."
        )
    detail = clean_message(error)
    if "label value" in raw and "outside the valid range" in raw:
        return (
            f"A label is outside the model's output classes ({detail}). Make the last "
            "Dense layer's units equal the number of classes."
        )
    if any(
        marker in raw
        for marker in (
            "must have the same shape",
            "Incompatible shapes",
            "logits and labels must have the same",
            "should have the same shape",
            "must have the same rank",
        )
    ):
        return (
            f"The labels do not fit the model's output and the loss ({detail}). Make the last "
            "layer's units match the labels (1 for binary or regression, the class count for "
            "multiclass) and pick the loss that matches them."
        )
    if "incompatible with the layer" in raw or "expected shape" in raw.lower():
        return (
            f"The data does not fit the model's input ({detail}). Set the model's input shape "
            "to the dataset's, or add a Reshape/Flatten layer."
        )
    return f"Training failed: {name}: {detail}"


def history_rows(history: dict[str, list[float]]) -> list[dict[str, float]]:
    """One dict per epoch ({"epoch": 1, "loss": ..., ...}) for CSV writers."""
    count = max((len(column) for column in history.values()), default=0)
    rows = []
    for index in range(count):
        row: dict[str, float] = {"epoch": index + 1}
        for key, column in history.items():
            row[key] = column[index] if index < len(column) else math.nan
        rows.append(row)
    return rows
