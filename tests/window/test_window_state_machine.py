"""A stateful property test of the real window (issue 9): random user actions, invariants
checked after every step.

Hypothesis drives one ``MainWindow`` (offscreen) through New, templates, model files
(Sequential and functional), dataset changes, layer edits, undo/redo, Suggest, short
training runs, Stop, metric and tab switches. After each step:

- the process is alive and the window answers;
- the stack's input row is the dataset's signature (``engine.datasets.probe``) and its
  totals equal ``engine.spec.analyse`` of the document's model with that shape;
- the Runs panel and the curves' overlays show only runs of the open document.

CI runs a bounded number of examples; ``LAYERLAB_SOAK=1`` runs many more locally.
"""

from __future__ import annotations

import os
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from PySide6.QtWidgets import QMessageBox

from app.stack_rows import format_shape
from engine.project import resources_dir

SOAK = bool(os.environ.get("LAYERLAB_SOAK"))
TEMPLATES = sorted((resources_dir() / "templates").glob("*.llproj"))
LAYERS = ["Dense", "Dropout", "Flatten", "BatchNormalization", "LSTM", "Conv1D", "Reshape"]
DATASETS = [
    {"source": "sample", "name": "digits"},
    {"source": "sample", "name": "iris"},
    {"source": "sample", "name": "breast_cancer"},
    {"source": "sample", "name": "diabetes"},
    {"source": "keras", "name": "imdb"},
    {"source": "keras", "name": "mnist"},
    {"source": "keras", "name": "boston_housing"},
]
TRAINABLE = {"digits", "iris", "breast_cancer", "wine", "diabetes"}


class WindowMachine(RuleBasedStateMachine):
    window = None
    qtbot = None
    files: ClassVar[dict] = {}
    checks: ClassVar[list] = []  # one entry per invariant check (the test asserts it ran)

    def __init__(self):
        super().__init__()
        self.trained = 0
        self._discard()
        self.window.new_project()

    # ------------------------------------------------------------------ helpers
    def _discard(self) -> None:
        self.window.document.undo_stack.setClean()

    def _settle(self) -> None:
        window, qtbot = self.window, self.qtbot
        qtbot.waitUntil(
            lambda: (
                not window.files._tasks
                and not window.dataset_controller.is_busy()
                and not window.controller.is_running()
            ),
            timeout=120_000,
        )
        qtbot.wait(5)

    @property
    def document(self):
        return self.window.document

    # ------------------------------------------------------------------ documents
    @rule()
    def new(self):
        self._discard()
        self.window.new_project()

    @rule(index=st.integers(0, max(len(TEMPLATES) - 1, 0)))
    def open_template(self, index):
        self._discard()
        self.window.open_path(TEMPLATES[index], ask=False, as_template=True)

    @rule(kind=st.sampled_from(["sequential", "functional"]))
    def open_model_file(self, kind):
        self._discard()
        self.window.open_path(self.files[kind], ask=False)
        self._settle()

    # ------------------------------------------------------------------ dataset
    @rule(block=st.sampled_from(DATASETS))
    def change_dataset(self, block):
        self.window.dataset_panel.blockEdited.emit(dict(block))

    @rule()
    def suggest(self):
        if self.document.project["dataset"].get("source") != "sample":
            return  # the built-in sets are not on this machine (no network)
        self.window.dataset_flow.suggest_head()
        self._settle()

    # ------------------------------------------------------------------ layers
    @rule(name=st.sampled_from(LAYERS), where=st.integers(0, 8))
    def insert(self, name, where):
        self.document.insert_layer(min(where, self.document.layer_count()), name)

    @rule(where=st.integers(0, 8))
    def remove(self, where):
        if self.document.layer_count():
            self.document.remove_layer(where % self.document.layer_count())

    @rule(source=st.integers(0, 8), to=st.integers(0, 8))
    def move(self, source, to):
        count = self.document.layer_count()
        if count > 1:
            self.document.move_layer(source % count, to % count)

    @rule(where=st.integers(0, 8))
    def duplicate(self, where):
        if self.document.layer_count():
            self.document.duplicate_layer(where % self.document.layer_count())

    @rule(where=st.integers(0, 8), units=st.integers(1, 64))
    def set_units(self, where, units):
        for index in range(self.document.layer_count()):
            entry = self.document.layer_entry((where + index) % self.document.layer_count())
            if entry.get("class_name") in ("Dense", "LSTM", "Conv1D"):
                key = "filters" if entry["class_name"] == "Conv1D" else "units"
                self.document.set_param((where + index) % self.document.layer_count(), key, units)
                return

    @rule()
    def undo(self):
        self.document.undo_stack.undo()

    @rule()
    def redo(self):
        self.document.undo_stack.redo()

    # ------------------------------------------------------------------ training
    @rule(stop_early=st.booleans())
    def train_one_epoch(self, stop_early):
        document = self.document
        if self.trained >= (6 if SOAK else 1):
            return
        if document.project["dataset"].get("name") not in TRAINABLE:
            return
        if document.stack_error() or not document.layer_count():
            return
        document.set_training(
            document.project["compile"],
            {**document.project["fit"], "epochs": 1, "callbacks": []},
        )
        self.trained += 1
        self.window.train()
        if stop_early:
            self.window.stop_training()
        self._settle()

    @rule(index=st.integers(0, 1))
    def switch_tab(self, index):
        self.window.tabs.setCurrentIndex(index)

    @rule()
    def switch_metric(self):
        metrics = list(self.document.project["compile"].get("metrics") or [])
        if metrics:
            self.window.curves.set_metric(str(metrics[0]))

    # ------------------------------------------------------------------ invariants
    @invariant()
    def alive_and_answering(self):
        self.qtbot.wait(1)
        assert self.window.isVisible()
        self.checks.append(self.document.layer_count())

    @invariant()
    def stack_follows_the_dataset_and_analysis(self):
        from engine.datasets.probe import input_signature
        from engine.spec import analyse

        document = self.document
        probe = input_signature(document.project["dataset"])
        rows = self.window.stack_model.rows()
        if document.is_functional:  # read-only: one row naming it, its graph in the Graph tab
            assert len(rows) == 1 and rows[0].title.startswith("Functional model")
            return
        if probe.input_shape is not None:
            assert rows[0].title == f"Input {format_shape(probe.input_shape)}"
            analysis = analyse(
                document.project["model"],
                input_shape=probe.input_shape,
                target_shape=probe.target_shape,
            )
            text = self.window.stack_view.totalsLabel.text()
            if analysis.ok:
                assert f"Total params: {analysis.total_params:,}" in text
            else:
                assert text == "Parameters: —"
        assert len(rows) == document.layer_count() + 1

    @invariant()
    def views_show_only_this_documents_runs(self):
        ids = [run.get("id") for run in self.document.project.get("runs") or []]
        assert [run.get("id") for run in self.window.runs_panel.runs()] == ids
        assert set(self.window.curves.overlay_keys()) <= set(ids)


@pytest.fixture
def model_files(tmp_path):
    import keras

    sequential = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, name="out")])
    sequential.save(tmp_path / "sequential.keras")
    inputs = keras.Input((4,))
    a = keras.layers.Dense(3, name="a")(inputs)
    b = keras.layers.Dense(3, name="b")(inputs)
    keras.Model(inputs, keras.layers.Add()([a, b])).save(tmp_path / "functional.keras")
    return {
        "sequential": tmp_path / "sequential.keras",
        "functional": tmp_path / "functional.keras",
    }


def test_random_user_sessions_keep_the_window_truthful(
    qtbot, make_window, model_files, monkeypatch
):
    for name in ("warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(lambda *a, **k: None))
    monkeypatch.setattr(QMessageBox, "open", lambda self: None)
    WindowMachine.window = make_window()
    WindowMachine.qtbot = qtbot
    WindowMachine.files = model_files
    run_state_machine_as_test(
        WindowMachine,
        settings=settings(
            max_examples=60 if SOAK else 12,
            stateful_step_count=40 if SOAK else 25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=not SOAK,
        ),
    )
    # The machine really ran: many steps, and stacks of several sizes were checked.
    assert len(WindowMachine.checks) >= (1000 if SOAK else 40)
    assert len(set(WindowMachine.checks)) >= 3
