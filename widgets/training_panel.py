"""The training panel: optimizer, loss, metrics, fit settings, callbacks and Train/Pause/Stop.

The panel edits a project's ``"compile"`` and ``"fit"`` blocks (the formats of
``engine.project``) and imports no Keras: the window passes what Keras knows through
:meth:`TrainingPanel.set_choices` — each optimizer's default ``get_config()``, the loss and
metric names, and (optionally) each callback's default arguments.

- ``set_settings(compile, fit)`` shows a project's blocks without emitting.
- Each user edit emits ``settingsEdited(new_compile, new_fit)`` once (spin boxes emit on
  Enter, focus-out or an arrow step). Keys the panel does not edit are kept as they were.
  An edited optimizer is written as ``keras.optimizers.serialize`` output
  (``{"module", "class_name", "config", "registered_name"}``); an untouched optimizer name
  such as ``"rmsprop"`` stays a name.
- ``set_device_choices(choices)`` fills the Devices row (``fit["devices"]``) from plain data
  (``engine.distribution.device_choices()``: value, label, enabled, reason, replicas); a
  disabled choice gives its reason as a tooltip. With several replicas the batch size row
  says how many samples each gets ("per replica: 32"): the batch size is the global batch.
- ``trainRequested``, ``pauseRequested``, ``resumeRequested``, ``stopRequested`` come from
  the buttons; ``set_running(running, paused)`` sets which buttons are enabled. The panel
  never changes its running state by itself.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from widgets.option_form import Option, OptionForm, ScientificSpinBox, retire_widget

# Keras 3.15's own defaults for the callback arguments the panel shows, used only until
# the window passes the live ones (``set_choices(callbacks=...)``, read from the
# callbacks' signatures).
KERAS_CALLBACK_DEFAULTS: dict[str, dict[str, Any]] = {
    "EarlyStopping": {
        "monitor": "val_loss",
        "min_delta": 0,
        "patience": 0,
        "restore_best_weights": False,
    },
    "ModelCheckpoint": {"monitor": "val_loss", "save_best_only": False, "mode": "auto"},
    "ReduceLROnPlateau": {"monitor": "val_loss", "factor": 0.1, "patience": 10, "min_lr": 0.0},
    "TensorBoard": {"histogram_freq": 0, "write_graph": True},
    "CSVLogger": {"separator": ",", "append": False},
}
# Which arguments each callback shows (the rest of its config is kept untouched).
CALLBACK_MAIN_ARGS: dict[str, tuple[str, ...]] = {
    "EarlyStopping": ("monitor", "patience", "min_delta", "restore_best_weights"),
    "ModelCheckpoint": ("monitor", "mode", "save_best_only"),
    "ReduceLROnPlateau": ("monitor", "factor", "patience", "min_lr"),
    "TensorBoard": ("histogram_freq", "write_graph"),
    "CSVLogger": ("separator", "append"),
}
CALLBACK_TITLES = {
    "EarlyStopping": "Early stopping",
    "ModelCheckpoint": "Model checkpoint (best weights)",
    "ReduceLROnPlateau": "Reduce learning rate on plateau",
    "TensorBoard": "TensorBoard logs",
    "CSVLogger": "CSV log of epochs",
    "TerminateOnNaN": "Stop when the loss is NaN",
}
CALLBACK_HELP = {
    "EarlyStopping": "Stop training when the monitored value stops improving.",
    "ModelCheckpoint": "Save the model during training (in the run's folder).",
    "ReduceLROnPlateau": "Divide the learning rate when the monitored value stops improving.",
    "TensorBoard": "Write TensorBoard event files (in the run's folder).",
    "CSVLogger": "Write each epoch's logs to a CSV file (in the run's folder).",
    "TerminateOnNaN": "Stop as soon as a batch's loss is NaN.",
}
ARG_RANGES: dict[str, tuple[float | None, float | None]] = {
    "patience": (0, 100_000),
    "min_delta": (0.0, 1e6),
    "factor": (0.0, 0.999),
    "min_lr": (0.0, 10.0),
    "histogram_freq": (0, 100_000),
}
# Arguments Keras types as floats although some defaults are written as ints (min_delta=0).
FLOAT_ARGS = frozenset({"min_delta", "factor", "min_lr"})
MODES = ("auto", "min", "max")
CLASS_WEIGHT_MODES = (
    (None, "None — every class counts the same"),
    ("balanced", "Balanced — inverse class frequency"),
    ("explicit", "Explicit — a weight per class"),
)
OPTIMIZER_SKIP = {"name", "learning_rate"}
SERIALIZE_MODULE = "keras.optimizers"


def significant(value: float, digits: int = 7) -> float:
    """``value`` rounded to ``digits`` significant digits (0.0010000000474974513 → 0.001)."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.{digits}g}")


def option_for_value(name: str, default: Any, help_text: str = "") -> Option:
    """An editor description for a config entry, its kind taken from its default's type."""
    low, high = ARG_RANGES.get(name, (None, None))
    if name in FLOAT_ARGS and isinstance(default, int) and not isinstance(default, bool):
        default = float(default)
    if isinstance(default, bool):
        return Option(name, "bool", default, help=help_text)
    if isinstance(default, int):
        return Option(name, "int", default, help=help_text, minimum=low, maximum=high)
    if isinstance(default, float):
        return Option(name, "float", default, help=help_text, minimum=low, maximum=high)
    if default is None:
        # Keras leaves optional numbers (clipnorm, clipvalue, ...) as None; steps and
        # frequencies are counts.
        kind = "int" if name.endswith(("_steps", "_frequency")) else "float"
        return Option(name, kind, None, help=help_text, minimum=0, maximum=1e6)
    return Option(name, "str", default, help=help_text)


def fill_combo(combo: QComboBox, names: Sequence[str], current: str) -> None:
    """Make ``combo`` list ``names`` (duplicates and empty names dropped) with ``current``
    selected; the items are only rebuilt when the list changed, so focus and popups stay."""
    wanted = list(dict.fromkeys(n for n in names if n))
    if [combo.itemData(i) for i in range(combo.count())] != wanted:
        combo.clear()
        for name in wanted:
            combo.addItem(name, name)
    combo.setCurrentIndex(max(combo.findData(current), 0))


class TrainingPanel(QWidget):
    """Compile and fit settings plus Train / Pause / Stop (objectName ``trainingPanel``)."""

    settingsEdited = Signal(object, object)
    trainRequested = Signal()
    pauseRequested = Signal()
    resumeRequested = Signal()
    stopRequested = Signal()
    # "Search this setting…" (a label's context menu): the setting's path
    # (fit.batch_size, compile.optimizer.config.learning_rate …) and a search hint
    # (widgets.search_space_editor.default_entry)
    searchRequested = Signal(str, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self._compile: dict = {"optimizer": "adam", "loss": "", "metrics": []}
        self._fit: dict = {}
        self._optimizers: dict[str, dict] = {}
        self._losses: list[str] = []
        self._metrics: list[str] = []
        self._callback_defaults: dict[str, dict] = copy.deepcopy(KERAS_CALLBACK_DEFAULTS)
        self._callback_memory: dict[str, dict] = {}
        self._class_names: list[str] = []
        self._weights_file: str | None = None
        self._device_choices: list[dict] = [
            {"value": None, "label": "Default", "enabled": True, "reason": "", "replicas": 1}
        ]
        self._updating = False
        self._running = False
        self._paused = False
        self._build()
        self._add_search_menus()
        self._rebuild_callbacks()
        self._refresh()
        self.set_running(False, False)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        scroll = QScrollArea()
        scroll.setObjectName("trainingScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Up and down only; and tall enough for about eight rows, so that a small screen
        # gives the form room instead of a four-row slot.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(8 * (self.fontMetrics().lineSpacing() + 14))
        outer.addWidget(scroll, 1)
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)

        # Optimizer
        optimizer_box = QGroupBox("Optimizer")
        optimizer_layout = QVBoxLayout(optimizer_box)
        self.optimizer_form = OptionForm()
        self.optimizer_form.setObjectName("optimizerOptions")
        self.optimizer_combo = QComboBox()
        self.optimizer_combo.setObjectName("optimizerCombo")
        self.optimizer_combo.activated.connect(self._on_optimizer_chosen)
        self.learning_rate = ScientificSpinBox()
        self.learning_rate.setObjectName("learningRate")
        self.learning_rate.setToolTip(
            "The step size of each update. Arrow keys step 1-2-5: 0.001 → 0.002 → 0.005."
        )
        self.learning_rate.valueChanged.connect(self._on_learning_rate)
        self.optimizer_form.add_fixed_row(
            self._label("&Optimizer:", self.optimizer_combo), self.optimizer_combo
        )
        self.optimizer_form.add_fixed_row(
            self._label("&Learning rate:", self.learning_rate), self.learning_rate
        )
        self.optimizer_form.valueEdited.connect(self._on_optimizer_arg)
        optimizer_layout.addWidget(self.optimizer_form)
        self.optimizer_advanced = QCollapsible(
            "Advanced optimizer settings", expandedIcon="▼", collapsedIcon="▶"
        )
        self.optimizer_advanced.setObjectName("optimizerAdvanced")
        self.optimizer_advanced_form = OptionForm()
        self.optimizer_advanced_form.valueEdited.connect(self._on_optimizer_arg)
        self.optimizer_advanced.addWidget(self.optimizer_advanced_form)
        self.optimizer_advanced.layout().setContentsMargins(0, 0, 0, 0)
        optimizer_layout.addWidget(self.optimizer_advanced)
        layout.addWidget(optimizer_box)

        # Loss and metrics
        loss_box = QGroupBox("Loss and metrics")
        loss_form = QFormLayout(loss_box)
        loss_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        loss_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.loss_combo = QComboBox()
        self.loss_combo.setObjectName("lossCombo")
        self.loss_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.loss_combo.setMinimumContentsLength(16)
        self.loss_combo.activated.connect(self._on_loss)
        loss_form.addRow(self._label("Lo&ss:", self.loss_combo), self.loss_combo)
        self.metrics_list = QListWidget()
        self.metrics_list.setObjectName("metricsList")
        self.metrics_list.setToolTip("Check the metrics to report each epoch (Space toggles)")
        self.metrics_list.setMaximumHeight(120)
        # Long names are elided (the whole name is the item's tooltip), never scrolled
        # sideways: at 1024×700 a horizontal scroll bar covered the last visible metric.
        self.metrics_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.metrics_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.metrics_list.itemChanged.connect(self._on_metric_toggled)
        loss_form.addRow(self._label("&Metrics:", self.metrics_list), self.metrics_list)
        layout.addWidget(loss_box)

        # Fit
        fit_box = QGroupBox("Training")
        fit_form = QFormLayout(fit_box)
        fit_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        fit_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.epochs = self._spin("epochsSpin", 1, 100_000, "Passes over the training data")
        self.epochs.valueChanged.connect(lambda v: self._set_fit("epochs", v))
        fit_form.addRow(self._label("&Epochs:", self.epochs), self.epochs)
        self.batch_size = self._spin("batchSizeSpin", 1, 1_000_000, "Samples per update")
        self.batch_size.valueChanged.connect(lambda v: self._set_fit("batch_size", v))
        batch_row = QWidget()
        batch_layout = QHBoxLayout(batch_row)
        batch_layout.setContentsMargins(0, 0, 0, 0)
        batch_layout.addWidget(self.batch_size, 1)
        self.per_replica_label = QLabel("")
        self.per_replica_label.setObjectName("perReplicaLabel")
        self.per_replica_label.setToolTip(
            "The batch size is the global batch: each device (replica) trains on its share"
        )
        batch_layout.addWidget(self.per_replica_label)
        fit_form.addRow(self._label("&Batch size:", self.batch_size), batch_row)
        self.devices_combo = QComboBox()
        self.devices_combo.setObjectName("devicesCombo")
        self.devices_combo.setToolTip("Where to train: the CPU, one GPU or all GPUs")
        self.devices_combo.activated.connect(self._on_device_chosen)
        fit_form.addRow(self._label("De&vices:", self.devices_combo), self.devices_combo)
        self.validation_split = QDoubleSpinBox()
        self.validation_split.setObjectName("validationSplitSpin")
        self.validation_split.setKeyboardTracking(False)
        self.validation_split.setRange(0.0, 0.95)
        self.validation_split.setSingleStep(0.05)
        self.validation_split.setDecimals(2)
        self.validation_split.setToolTip(
            "Fraction of the training data held out to validate after each epoch (0: none, "
            "or the dataset's own validation part)"
        )
        self.validation_split.valueChanged.connect(
            lambda v: self._set_fit("validation_split", round(v, 4))
        )
        fit_form.addRow(
            self._label("&Validation split:", self.validation_split), self.validation_split
        )
        self.shuffle = QCheckBox("Shuffle each epoch")
        self.shuffle.setObjectName("shuffleCheck")
        self.shuffle.toggled.connect(lambda v: self._set_fit("shuffle", bool(v)))
        fit_form.addRow("", self.shuffle)
        self.record_weights = QCheckBox("Record weight histograms")
        self.record_weights.setObjectName("recordWeightsCheck")
        self.record_weights.setToolTip(
            "At each epoch end, keep a histogram of every weight tensor and the norms of each "
            "layer's weights and last update (shown in the Weights tab for the run); at the end, "
            "check ReLU layers for dead units on the validation data"
        )
        self.record_weights.toggled.connect(lambda v: self._set_fit("record_weights", bool(v)))
        fit_form.addRow("", self.record_weights)
        self.seed = self._spin("seedSpin", -1, 2_147_483_647, "Random seed (random: none)")
        self.seed.setSpecialValueText("random")
        self.seed.valueChanged.connect(lambda v: self._set_fit("seed", None if v < 0 else v))
        fit_form.addRow(self._label("See&d:", self.seed), self.seed)
        self.start_from_combo = QComboBox()
        self.start_from_combo.setObjectName("startFromCombo")
        self.start_from_combo.addItem("The project's weights", "weights")
        self.start_from_combo.addItem("Fresh random initialisation", "fresh")
        self.start_from_combo.activated.connect(
            lambda _index: self._set_fit("start_from", self.start_from_combo.currentData())
        )
        fit_form.addRow(self._label("Start &from:", self.start_from_combo), self.start_from_combo)
        self.class_weight_combo = QComboBox()
        self.class_weight_combo.setObjectName("classWeightCombo")
        for mode, text in CLASS_WEIGHT_MODES:
            self.class_weight_combo.addItem(text, mode)
        self.class_weight_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.class_weight_combo.setMinimumContentsLength(10)
        self.class_weight_combo.activated.connect(self._on_class_weight_mode)
        fit_form.addRow(
            self._label("&Class weights:", self.class_weight_combo), self.class_weight_combo
        )
        self.class_weight_table = QTableWidget(0, 2)
        self.class_weight_table.setObjectName("classWeightTable")
        self.class_weight_table.setHorizontalHeaderLabels(["Class", "Weight"])
        self.class_weight_table.verticalHeader().hide()
        self.class_weight_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch
        )
        self.class_weight_table.verticalHeader().setDefaultSectionSize(22)
        self.class_weight_table.setEditTriggers(
            QAbstractItemView.EditTrigger.AllEditTriggers
            & ~QAbstractItemView.EditTrigger.CurrentChanged
        )
        self.class_weight_table.itemChanged.connect(self._on_class_weight_edited)
        fit_form.addRow("", self.class_weight_table)
        self.class_weight_hint = QLabel("Load the dataset preview to list its classes.")
        self.class_weight_hint.setEnabled(False)
        self.class_weight_hint.setWordWrap(True)
        fit_form.addRow("", self.class_weight_hint)
        layout.addWidget(fit_box)

        # Callbacks
        self.callbacks_box = QCollapsible("Callbacks", expandedIcon="▼", collapsedIcon="▶")
        self.callbacks_box.setObjectName("callbacksBox")
        self.callbacks_holder = QWidget()
        self.callbacks_layout = QVBoxLayout(self.callbacks_holder)
        self.callbacks_layout.setContentsMargins(4, 0, 0, 0)
        self.callbacks_box.addWidget(self.callbacks_holder)
        layout.addWidget(self.callbacks_box)
        layout.addStretch(1)

        # Buttons, always visible below the scrolling settings
        bar = QWidget()
        bar.setObjectName("trainingButtons")
        buttons = QHBoxLayout(bar)
        buttons.setContentsMargins(8, 6, 8, 8)
        style = self.style()
        self.train_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "&Train"
        )
        self.train_button.setObjectName("trainButton")
        self.train_button.setToolTip("Build, compile and train the model with these settings")
        self.train_button.setDefault(True)
        self.train_button.clicked.connect(self.trainRequested)
        self.pause_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPause), "&Pause"
        )
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.clicked.connect(self._on_pause_clicked)
        self.stop_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "St&op"
        )
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop after the current batch and keep the weights so far")
        self.stop_button.clicked.connect(self.stopRequested)
        buttons.addWidget(self.train_button, 2)
        buttons.addWidget(self.pause_button, 1)
        buttons.addWidget(self.stop_button, 1)
        outer.addWidget(bar)

    def _add_search_menus(self) -> None:
        """ "Search this setting…" on the labels of the settings a search may vary."""
        from widgets.property_editor import add_search_menu

        searchable = {
            self.optimizer_combo: "compile.optimizer",
            self.learning_rate: "compile.optimizer.config.learning_rate",
            self.epochs: "fit.epochs",
            self.batch_size: "fit.batch_size",
            self.validation_split: "fit.validation_split",
        }
        for label in self.findChildren(QLabel):
            path = searchable.get(label.buddy())
            if path is not None:
                add_search_menu(
                    label, lambda p=path: self.searchRequested.emit(p, self.search_hint(p))
                )

    def search_hint(self, path: str) -> dict:
        """What a search entry needs to know of the setting at ``path``."""
        if path == "compile.optimizer":
            names = [name.lower() for name in self._optimizers] or ["adam", "sgd", "rmsprop"]
            current = self._optimizer_class()[0].lower()
            return {"label": "optimizer", "kind": "choice", "value": current, "choices": names}
        if path.endswith("learning_rate"):
            return {
                "label": "learning rate",
                "kind": "float",
                "value": self.learning_rate.value(),
                "minimum": 0.0,
                "maximum": None,
            }
        if path == "fit.validation_split":
            return {
                "label": "validation split",
                "kind": "float",
                "value": self.validation_split.value(),
                "minimum": 0.0,
                "maximum": 0.95,
            }
        box = self.epochs if path == "fit.epochs" else self.batch_size
        return {
            "label": path.split(".")[-1].replace("_", " "),
            "kind": "int",
            "value": box.value(),
            "minimum": box.minimum(),
            "maximum": box.maximum(),
        }

    @staticmethod
    def _label(text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        return label

    @staticmethod
    def _spin(name: str, low: int, high: int, tip: str) -> QSpinBox:
        box = QSpinBox()
        box.setObjectName(name)
        box.setRange(low, high)
        box.setKeyboardTracking(False)
        box.setAccelerated(True)
        box.setToolTip(tip)
        return box

    # ------------------------------------------------------------------ public API
    def set_choices(
        self,
        optimizers: dict[str, dict],
        losses: Sequence[str],
        metrics: Sequence[str],
        callbacks: dict[str, dict] | None = None,
    ) -> None:
        """What Keras offers: ``optimizers`` maps a Keras class name (``"Adam"``) to its
        default ``get_config()``; ``losses`` and ``metrics`` are Keras names; ``callbacks``
        (optional) maps each offered callback class to its default arguments — when given,
        only those callbacks are offered."""
        self._optimizers = {name: dict(config) for name, config in optimizers.items()}
        self._losses = list(losses)
        self._metrics = list(metrics)
        if callbacks is not None:
            self._callback_defaults = {name: dict(args) for name, args in callbacks.items()}
        self._rebuild_callbacks()
        self._refresh()

    def set_device_choices(self, choices: Sequence[Any]) -> None:
        """The Devices row's entries, in order: each a mapping or an object with ``value``
        (what goes into ``fit["devices"]``; None: Keras's default), ``label``, ``enabled``,
        ``reason`` (why it is disabled) and ``replicas`` (devices sharing each batch), such
        as ``engine.distribution.device_choices()``. Emits nothing."""

        def read(choice: Any, key: str, default: Any) -> Any:
            if isinstance(choice, dict):
                return choice.get(key, default)
            return getattr(choice, key, default)

        self._device_choices = [
            {
                "value": read(choice, "value", None),
                "label": str(read(choice, "label", read(choice, "value", "Default"))),
                "enabled": bool(read(choice, "enabled", True)),
                "reason": str(read(choice, "reason", "") or ""),
                "replicas": max(1, int(read(choice, "replicas", 1) or 1)),
            }
            for choice in choices
        ]
        self._updating = True
        try:
            self._show_devices()
        finally:
            self._updating = False

    def set_class_names(self, names: Sequence[str]) -> None:
        """The dataset's class names, listed by the explicit class-weight editor."""
        self._class_names = [str(n) for n in names]
        self._refresh()

    def set_settings(self, compile_block: dict, fit_block: dict) -> None:
        """Show a project's compile and fit blocks. Emits nothing."""
        self._compile = copy.deepcopy(dict(compile_block or {}))
        self._fit = copy.deepcopy(dict(fit_block or {}))
        self._refresh()

    def set_initial_weights(self, file_name: str | None) -> None:
        """The project's initial weights file (``None``: it has none). Training may start from
        them (the default) or from a fresh initialisation; without them the choice is off."""
        self._weights_file = file_name or None
        self._updating = True
        try:
            self._show_start_from()
        finally:
            self._updating = False

    def settings(self) -> tuple[dict, dict]:
        """Copies of the compile and fit blocks the panel shows."""
        return copy.deepcopy(self._compile), copy.deepcopy(self._fit)

    def set_running(self, running: bool, paused: bool = False) -> None:
        """Train is enabled when idle; Pause/Resume and Stop while a run is going."""
        self._running, self._paused = bool(running), bool(running and paused)
        self.train_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        style = self.style()
        if self._paused:
            self.pause_button.setText("&Resume")
            self.pause_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
            self.pause_button.setToolTip("Continue training")
        else:
            self.pause_button.setText("&Pause")
            self.pause_button.setIcon(style.standardIcon(QStyle.StandardPixmap.SP_MediaPause))
            self.pause_button.setToolTip("Pause after the current batch")

    def _on_pause_clicked(self) -> None:
        if self._paused:
            self.resumeRequested.emit()
        else:
            self.pauseRequested.emit()

    # ------------------------------------------------------------------ showing
    def _refresh(self) -> None:
        self._updating = True
        try:
            self._show_optimizer()
            self._show_loss_and_metrics()
            self._show_fit()
            self._show_callbacks()
        finally:
            self._updating = False

    def _optimizer_class(self) -> tuple[str, dict]:
        """(class name, full config) of the shown optimizer, defaults filled in."""
        optimizer = self._compile.get("optimizer")
        if isinstance(optimizer, dict):
            name = str(optimizer.get("class_name", ""))
            defaults = self._optimizers.get(name, {})
            return name, {**defaults, **dict(optimizer.get("config") or {})}
        text = str(optimizer or "")
        for name, defaults in self._optimizers.items():
            if name.lower() == text.lower() or str(defaults.get("name", "")) == text.lower():
                return name, dict(defaults)
        return text, {}

    def _common_args(self) -> dict[str, Any]:
        """Arguments every optimizer has (clipnorm, use_ema, weight_decay, ...) with their
        most usual default: they go under "Advanced" unless an optimizer's own default
        differs (AdamW's weight_decay); its other arguments are shown directly."""
        configs = list(self._optimizers.values())
        if not configs:
            return {}
        shared = set(configs[0]).intersection(*configs[1:])
        common = {}
        for key in shared:
            values = [repr(config[key]) for config in configs]
            usual = max(set(values), key=values.count)
            common[key] = next(c[key] for c in configs if repr(c[key]) == usual)
        return common

    def _show_optimizer(self) -> None:
        name, config = self._optimizer_class()
        fill_combo(self.optimizer_combo, [*self._optimizers, name], name)
        rate = config.get("learning_rate")
        self.learning_rate.setEnabled(isinstance(rate, (int, float)))
        if isinstance(rate, (int, float)):
            self.learning_rate.setValue(float(rate))
        common = self._common_args()
        own, advanced = [], []
        for key, value in config.items():
            if key in OPTIMIZER_SKIP or isinstance(value, (dict, list)):
                continue
            default = self._optimizers.get(name, {}).get(key, value)
            option = option_for_value(key, default, f"Keras {name} argument {key!r}")
            if key in common and repr(common[key]) == repr(default):
                advanced.append(option)
            else:
                own.append(option)
        if [o.name for o in own] != [o.name for o in self.optimizer_form.options()]:
            self.optimizer_form.set_options(own)
        if [o.name for o in advanced] != [o.name for o in self.optimizer_advanced_form.options()]:
            self.optimizer_advanced_form.set_options(advanced)
        self.optimizer_form.set_values(config)
        self.optimizer_advanced_form.set_values(config)
        self.optimizer_advanced.setVisible(bool(advanced))

    def _show_loss_and_metrics(self) -> None:
        loss = self._compile.get("loss")
        loss_text = loss if isinstance(loss, str) else str((loss or {}).get("class_name", ""))
        fill_combo(self.loss_combo, [*self._losses, loss_text], loss_text)
        chosen = [m for m in self._compile.get("metrics") or [] if isinstance(m, str)]
        names = [*self._metrics, *[m for m in chosen if m not in self._metrics]]
        shown = [self.metrics_list.item(i).text() for i in range(self.metrics_list.count())]
        if shown != names:
            self.metrics_list.clear()
            for name in names:
                item = QListWidgetItem(name)
                item.setToolTip(name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                self.metrics_list.addItem(item)
        for row, name in enumerate(names):
            state = Qt.CheckState.Checked if name in chosen else Qt.CheckState.Unchecked
            self.metrics_list.item(row).setCheckState(state)

    def _show_fit(self) -> None:
        fit = self._fit
        self.epochs.setValue(int(fit.get("epochs", 20)))
        self.batch_size.setValue(int(fit.get("batch_size", 32)))
        self.validation_split.setValue(float(fit.get("validation_split", 0.0)))
        self.shuffle.setChecked(bool(fit.get("shuffle", True)))
        self.record_weights.setChecked(fit.get("record_weights") is True)
        seed = fit.get("seed")
        self.seed.setValue(-1 if seed is None else int(seed))
        weights = fit.get("class_weight")
        mode = weights if weights in (None, "balanced") else "explicit"
        self.class_weight_combo.setCurrentIndex(self.class_weight_combo.findData(mode))
        self._show_class_weights(weights if isinstance(weights, dict) else {})
        self._show_start_from()
        self._show_devices()

    def _show_devices(self) -> None:
        combo = self.devices_combo
        combo.clear()
        current = self._fit.get("devices")
        choices = list(self._device_choices)
        if not any(choice["value"] == current for choice in choices):
            # A setting this machine does not offer (another machine's GPU): shown, so that
            # the user sees it; training says plainly why it cannot run here.
            shown = current if isinstance(current, str) else "several workers"
            choices.append(
                {
                    "value": current,
                    "label": f"{shown} (not on this machine)",
                    "enabled": True,
                    "reason": "The project asks for a device this machine does not have.",
                    "replicas": 1,
                }
            )
        model = combo.model()
        for index, choice in enumerate(choices):
            combo.addItem(choice["label"], choice["value"])
            if choice["reason"]:
                combo.setItemData(index, choice["reason"], Qt.ItemDataRole.ToolTipRole)
            if not choice["enabled"]:
                item = model.item(index) if hasattr(model, "item") else None
                if item is not None:
                    item.setEnabled(False)
            if choice["value"] == current:
                combo.setCurrentIndex(index)
        self._shown_device_choices = choices
        replicas = next((choice["replicas"] for choice in choices if choice["value"] == current), 1)
        batch = int(self._fit.get("batch_size", 32))
        if replicas > 1:
            low, high = batch // replicas, -(-batch // replicas)
            share = str(low) if low == high else f"{low}–{high}"
            self.per_replica_label.setText(f"per replica: {share}")
        else:
            self.per_replica_label.setText("")
        self.per_replica_label.setVisible(replicas > 1)

    def _show_start_from(self) -> None:
        combo = self.start_from_combo
        if self._weights_file is None:
            combo.setCurrentIndex(combo.findData("fresh"))
            combo.setEnabled(False)
            combo.setToolTip(
                "This project has no weights of its own: each run starts from a fresh random "
                "initialisation. Open a trained model file (File › Open) to start from its "
                "weights."
            )
            return
        choice = self._fit.get("start_from") or "weights"
        combo.setCurrentIndex(max(combo.findData(choice), 0))
        combo.setEnabled(True)
        combo.setItemText(0, f"The project's weights ({self._weights_file})")
        combo.setToolTip(
            f"Start each run from the weights in {self._weights_file} (layers whose shape "
            "changed since start fresh), or from a fresh random initialisation."
        )

    def _show_class_weights(self, weights: dict) -> None:
        explicit = self.class_weight_combo.currentData() == "explicit"
        count = max(len(self._class_names), *(int(k) + 1 for k in weights if str(k).isdigit()), 0)
        table = self.class_weight_table
        table.blockSignals(True)
        table.setRowCount(count)
        for row in range(count):
            name = self._class_names[row] if row < len(self._class_names) else ""
            label = QTableWidgetItem(f"{row} — {name}" if name else str(row))
            label.setFlags(label.flags() & ~Qt.ItemFlag.ItemIsEditable)
            table.setItem(row, 0, label)
            weight = weights.get(str(row), weights.get(row, 1.0))  # type: ignore[call-overload]
            item = QTableWidgetItem()
            item.setData(Qt.ItemDataRole.EditRole, float(weight))
            table.setItem(row, 1, item)
        table.blockSignals(False)
        rows_height = sum(table.rowHeight(r) for r in range(min(count, 5)))
        table.setFixedHeight(table.horizontalHeader().height() + rows_height + 4)
        table.setVisible(explicit and count > 0)
        self.class_weight_hint.setVisible(explicit and count == 0)

    # ------------------------------------------------------------------ callbacks
    def _rebuild_callbacks(self) -> None:
        names = list(self._callback_defaults)
        for entry in self._fit.get("callbacks") or []:
            name = entry.get("class_name") if isinstance(entry, dict) else None
            if name and name not in names:
                names.append(name)
        if names == list(getattr(self, "_callback_rows", {})):
            return
        while self.callbacks_layout.count():
            widget = self.callbacks_layout.takeAt(0).widget()
            if widget is not None:
                retire_widget(widget)
        self._callback_rows: dict[str, tuple[QCheckBox, OptionForm]] = {}
        for name in names:
            self._add_callback_row(name)

    def _monitor_choices(self) -> tuple[str, ...]:
        metrics = [m for m in self._compile.get("metrics") or [] if isinstance(m, str)]
        choices = ["val_loss", "loss"]
        for metric in metrics:
            choices += [f"val_{metric}", metric]
        return tuple(choices)

    def _callback_options(self, name: str) -> list[Option]:
        defaults = {
            **KERAS_CALLBACK_DEFAULTS.get(name, {}),
            **self._callback_defaults.get(name, {}),
        }
        options = []
        for arg in CALLBACK_MAIN_ARGS.get(name, ()):
            default = defaults.get(arg)
            if arg == "monitor":
                options.append(
                    Option(
                        arg, "choice", default, self._monitor_choices(), "The logged value to watch"
                    )
                )
            elif arg == "mode":
                options.append(
                    Option(
                        arg, "choice", default, MODES, "auto: min for losses, max for accuracies"
                    )
                )
            else:
                options.append(option_for_value(arg, default, f"Keras {name} argument {arg!r}"))
        return options

    def _add_callback_row(self, name: str) -> None:
        box = QCheckBox(CALLBACK_TITLES.get(name, name))
        box.setObjectName(f"callback_{name}")
        box.setToolTip(CALLBACK_HELP.get(name, f"keras.callbacks.{name}"))
        form = OptionForm()
        form.setObjectName(f"callbackOptions_{name}")
        form.set_options(self._callback_options(name))
        form.layout().setContentsMargins(22, 0, 0, 6)
        box.toggled.connect(lambda checked, n=name: self._on_callback_toggled(n, checked))
        form.valueEdited.connect(lambda arg, value, n=name: self._on_callback_arg(n, arg, value))
        self.callbacks_layout.addWidget(box)
        self.callbacks_layout.addWidget(form)
        self._callback_rows[name] = (box, form)

    def _show_callbacks(self) -> None:
        entries = {
            e.get("class_name"): e for e in self._fit.get("callbacks") or [] if isinstance(e, dict)
        }
        if any(name not in self._callback_rows for name in entries):
            self._rebuild_callbacks()
        monitors = self._monitor_choices()
        enabled_count = 0
        for name, (box, form) in self._callback_rows.items():
            entry = entries.get(name)
            box.setChecked(entry is not None)
            if any(o.name == "monitor" and o.choices != monitors for o in form.options()):
                form.set_options(self._callback_options(name))
            form.set_values(dict((entry or self._callback_memory.get(name, {})).get("config", {})))
            form.setEnabled(entry is not None)
            form.setVisible(bool(form.options()))
            enabled_count += entry is not None
        title = "Callbacks" + (f" ({enabled_count} on)" if enabled_count else "")
        self.callbacks_box.setText(title)

    # ------------------------------------------------------------------ edits
    def _emit(self) -> None:
        self._refresh()
        self.settingsEdited.emit(copy.deepcopy(self._compile), copy.deepcopy(self._fit))

    def _set_fit(self, key: str, value: Any) -> None:
        if self._updating or (self._fit.get(key) == value and key in self._fit):
            return
        self._fit[key] = value
        self._emit()

    def _on_device_chosen(self, index: int) -> None:
        choices = getattr(self, "_shown_device_choices", [])
        if not 0 <= index < len(choices) or not choices[index]["enabled"]:
            return
        value = choices[index]["value"]
        if value is None and "devices" not in self._fit:
            return  # the default, as before: nothing to write
        self._set_fit("devices", copy.deepcopy(value))

    def _serialized_optimizer(self, name: str, config: dict) -> dict:
        optimizer = self._compile.get("optimizer")
        if isinstance(optimizer, dict) and optimizer.get("class_name") == name:
            result = copy.deepcopy(optimizer)
            result["config"] = config
            return result
        return {
            "module": SERIALIZE_MODULE,
            "class_name": name,
            "config": config,
            "registered_name": None,
        }

    def _on_optimizer_chosen(self, _index: int) -> None:
        name = self.optimizer_combo.currentData()
        current, _config = self._optimizer_class()
        if name == current or name not in self._optimizers:
            return
        self._compile["optimizer"] = self._serialized_optimizer(
            name, copy.deepcopy(self._optimizers[name])
        )
        self._emit()

    def _on_learning_rate(self, value: float) -> None:
        if self._updating:
            return
        name, config = self._optimizer_class()
        config["learning_rate"] = significant(value)
        self._compile["optimizer"] = self._serialized_optimizer(name, config)
        self._emit()

    def _on_optimizer_arg(self, arg: str, value: Any) -> None:
        name, config = self._optimizer_class()
        if isinstance(value, float):
            value = significant(value)
        config[arg] = value
        self._compile["optimizer"] = self._serialized_optimizer(name, config)
        self._emit()

    def _on_loss(self, _index: int) -> None:
        loss = self.loss_combo.currentData()
        old = self._compile.get("loss")
        if loss == (old.get("class_name") if isinstance(old, dict) else old):
            return
        self._compile["loss"] = loss
        self._emit()

    def _on_metric_toggled(self, _item: QListWidgetItem) -> None:
        if self._updating:
            return
        checked = [
            self.metrics_list.item(i).text()
            for i in range(self.metrics_list.count())
            if self.metrics_list.item(i).checkState() == Qt.CheckState.Checked
        ]
        others = [m for m in self._compile.get("metrics") or [] if not isinstance(m, str)]
        self._compile["metrics"] = [*checked, *others]
        self._emit()

    def _on_class_weight_mode(self, _index: int) -> None:
        mode = self.class_weight_combo.currentData()
        if mode == "explicit":
            count = max(len(self._class_names), 2)
            old = self._fit.get("class_weight")
            value: Any = old if isinstance(old, dict) else {str(i): 1.0 for i in range(count)}
        else:
            value = mode
        if value == self._fit.get("class_weight") and "class_weight" in self._fit:
            return
        self._fit["class_weight"] = value
        self._emit()

    def _on_class_weight_edited(self, _item: QTableWidgetItem) -> None:
        if self._updating:
            return
        table = self.class_weight_table
        weights = {}
        for row in range(table.rowCount()):
            item = table.item(row, 1)
            value = item.data(Qt.ItemDataRole.EditRole) if item is not None else 1.0
            try:
                weights[str(row)] = max(0.0, float(value))
            except (TypeError, ValueError):
                weights[str(row)] = 1.0
        self._fit["class_weight"] = weights
        self._emit()

    def _on_callback_toggled(self, name: str, checked: bool) -> None:
        if self._updating:
            return
        callbacks = [
            e
            for e in self._fit.get("callbacks") or []
            if not (isinstance(e, dict) and e.get("class_name") == name)
        ]
        _box, form = self._callback_rows[name]
        if checked:
            remembered = copy.deepcopy(self._callback_memory.get(name, {"config": {}}))
            config = {**remembered.get("config", {}), **form.values()}
            entry = {**remembered, "class_name": name, "config": config}
            order = list(self._callback_rows)
            position = sum(
                1
                for e in callbacks
                if isinstance(e, dict)
                and e.get("class_name") in order
                and order.index(e.get("class_name")) < order.index(name)
            )
            callbacks.insert(position, entry)
        else:
            for entry in self._fit.get("callbacks") or []:
                if isinstance(entry, dict) and entry.get("class_name") == name:
                    self._callback_memory[name] = copy.deepcopy(entry)
        self._fit["callbacks"] = callbacks
        self._emit()

    def _on_callback_arg(self, name: str, arg: str, value: Any) -> None:
        if isinstance(value, float):
            value = significant(value)
        for entry in self._fit.get("callbacks") or []:
            if isinstance(entry, dict) and entry.get("class_name") == name:
                entry.setdefault("config", {})[arg] = value
                self._emit()
                return
