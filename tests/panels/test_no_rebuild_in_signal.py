"""No form deletes a widget while that widget's own signal is being delivered.

Changing the dataset panel's Name combo by mouse crashed the window (segfault in libQt6Core):
the combo's ``activated`` handler rebuilt the form, which deleted the combo while Qt was still
inside its ``keyPressEvent``/``mouseReleaseEvent``. These tests drive the combos with real key
events and check, from a slot that runs *after* the form's own handler, that the sender still
exists; old editors may only go later, through ``deleteLater``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QComboBox, QWidget

from engine.datasets import dataset_names, source_options
from widgets.dataset_panel import DatasetPanel
from widgets.option_form import Option, OptionForm


class SenderWatch:
    """Connect after the widget's other handlers: when ``signal`` is delivered to us, the
    handlers before us have returned, so the sender must still be a live C++ object."""

    def __init__(self, widget: QWidget, signal) -> None:
        self.widget = widget
        self.deliveries = 0
        self.dead_during_signal = 0
        self.destroyed = False
        widget.destroyed.connect(self._on_destroyed)
        signal.connect(self._on_signal)

    def _on_destroyed(self, *_args) -> None:
        self.destroyed = True

    def _on_signal(self, *_args) -> None:
        self.deliveries += 1
        if self.destroyed or not shiboken6.isValid(self.widget):
            self.dead_during_signal += 1

    def check(self, *, retired: bool = False) -> None:
        """Call right after the event, before the event loop runs deferred deletes.
        A ``retired`` sender (replaced by the form, silenced) may not reach our slot."""
        assert not self.destroyed, "the form deleted the widget while delivering its signal"
        assert shiboken6.isValid(self.widget)
        assert self.dead_during_signal == 0
        assert self.deliveries == 1 or (retired and self.deliveries == 0)


def flush_deletes() -> None:
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


def drive_combo(qtbot, combo: QComboBox, key: Qt.Key) -> SenderWatch:
    """Press ``key`` on ``combo`` (a real key event, as a user would) and watch it survive."""
    watch = SenderWatch(combo, combo.activated)
    combo.setFocus()
    qtbot.keyClick(combo, key)
    return watch


@pytest.fixture
def panel(qtbot):
    widget = DatasetPanel()
    qtbot.addWidget(widget)
    widget.set_option_provider(source_options, dataset_names)
    widget.resize(420, 700)
    widget.show()
    return widget


def echo_like_the_window(panel: DatasetPanel) -> list[dict]:
    """The window answers every edit with ``set_block`` (through an undo command), from inside
    the same signal: do the same."""
    seen: list[dict] = []

    def answer(block: dict) -> None:
        seen.append(block)
        panel.set_block(block)

    panel.blockEdited.connect(answer)
    return seen


@pytest.mark.parametrize("source", ["sample", "keras"])
def test_name_combo_by_keyboard_many_times(qtbot, panel, source):
    names = list(dataset_names(source))
    panel.set_block({"source": source, "name": names[0]})
    seen = echo_like_the_window(panel)
    for step in range(2 * len(names)):
        combo = panel.form.editor("name")
        key = Qt.Key.Key_Down if step < len(names) - 1 else Qt.Key.Key_Up
        if step >= 2 * (len(names) - 1):
            break
        before = combo.currentData()
        watch = drive_combo(qtbot, combo, key)
        watch.check()
        flush_deletes()
        name = panel.block()["name"]
        assert name != before
        expected = [o.name for o in source_options(source, name)]
        assert [o.name for o in panel.form.options()] == expected
        assert panel.form.editor("name").currentData() == name
        assert panel.form.editor("name").isVisibleTo(panel)
    assert len(seen) == 2 * (len(names) - 1)


def test_name_combo_activated_emitted_synchronously(qtbot, panel):
    panel.set_block({"source": "keras", "name": "mnist"})
    echo_like_the_window(panel)
    for name in ["imdb", "cifar100", "boston_housing", "mnist", "reuters"] * 3:
        combo = panel.form.editor("name")
        watch = SenderWatch(combo, combo.activated)
        combo.setCurrentIndex(combo.findData(name))
        combo.activated.emit(combo.currentIndex())
        watch.check()
        assert shiboken6.isValid(combo)
        assert [o.name for o in panel.form.options()] == [
            o.name for o in source_options("keras", name)
        ]
    flush_deletes()
    # the old editors are gone once the event loop ran; only the current ones remain
    combos = [c for c in panel.form.findChildren(QComboBox) if c.objectName() == "option_name"]
    assert combos == [panel.form.editor("name")]


def test_source_then_name_after_new_document(qtbot, panel):
    """File › New › Discard (a fresh block from outside) and then Name: the same path."""
    panel.set_block({"source": "sample", "name": "digits"})
    echo_like_the_window(panel)
    panel.set_block({"source": "sample", "name": "digits", "seed": 3})  # the "new" project
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_End):
        drive_combo(qtbot, panel.form.editor("name"), key).check()
        flush_deletes()
    assert panel.block()["name"] == "diabetes"
    drive_combo(qtbot, panel.source_combo, Qt.Key.Key_Home).check()
    flush_deletes()
    assert panel.block()["source"] == "keras"


def rebuilding_form(rebuild: Callable[[OptionForm], None]) -> OptionForm:
    form = OptionForm()
    form.set_options([Option("kind", "choice", "a", ("a", "b", "c")), Option("n", "int", 1)])
    form.valueEdited.connect(lambda _name, _value: rebuild(form))
    return form


def other_choices(form: OptionForm) -> None:
    """New choices for the combo that was just used: its editor must be replaced."""
    count = len(form.options()[0].choices)
    choices = tuple("abcdef"[: 3 if count == 4 else 4])
    form.set_options([Option("kind", "choice", "b", choices), Option("n", "int", 1)])


@pytest.mark.parametrize(
    "rebuild",
    [
        other_choices,
        lambda form: form.set_options([Option("other", "choice", "x", ("x", "y"))]),
        lambda form: form.set_options(form.options()[::-1]),  # same editors, other order
    ],
)
def test_option_form_rebuild_from_its_own_editor(qtbot, rebuild):
    form = rebuilding_form(rebuild)
    qtbot.addWidget(form)
    form.show()
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Up):
        if "kind" not in [o.name for o in form.options()]:
            form.set_options([Option("kind", "choice", "a", ("a", "b", "c"))])
        drive_combo(qtbot, form.editor("kind"), key).check(retired=True)
        flush_deletes()
    # every editor left is one the form shows; the old ones are gone
    editors = {form.editor(o.name) for o in form.options()}
    assert set(form.findChildren(QComboBox)) == {e for e in editors if isinstance(e, QComboBox)}
    assert all(e.isVisibleTo(form) for e in editors)


def test_option_form_same_options_keep_their_editors(qtbot):
    form = OptionForm()
    qtbot.addWidget(form)
    options = [Option("kind", "choice", "a", ("a", "b")), Option("n", "int", 1)]
    form.set_options(options)
    combo = form.editor("kind")
    form.set_values({"kind": "b", "n": 4})
    form.set_options(list(options))
    assert form.editor("kind") is combo
    assert form.values() == {"kind": "a", "n": 1}  # set_options shows the defaults
