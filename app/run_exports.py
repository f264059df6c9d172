"""Exports of the Runs panel: a run's model (.h5, .keras, SavedModel), its Python script,
the selected runs' history as CSV, and the curves as PNG/SVG. Model files and scripts are
written on the panel's worker thread; every file is written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from engine import runs as records
from engine.files import atomic_write_text

# Exports of a run's trained model (enabled for trained runs); the deployable ones are run on
# the test part after export and their agreement with Keras is shown (engine.deploy_export).
MODEL_KINDS = ("h5", "keras", "saved_model", "tflite", "tflite-f16", "tflite-int8", "onnx")
DEPLOY_KINDS = ("tflite", "tflite-f16", "tflite-int8", "onnx")
_TFLITE = "TensorFlow Lite model (*.tflite)"
EXPORT_KINDS = {
    "h5": ("Trained model (.h5)…", "Keras HDF5 model (*.h5 *.hdf5)", ".h5"),
    "keras": ("Trained model (.keras)…", "Keras model (*.keras)", ".keras"),
    "saved_model": ("TensorFlow SavedModel…", None, ""),
    "tflite": ("TensorFlow Lite, float32 (.tflite)…", _TFLITE, ".tflite"),
    "tflite-f16": (
        "TensorFlow Lite, float16 weights (.tflite)…",
        _TFLITE,
        ".tflite",
    ),
    "tflite-int8": (
        "TensorFlow Lite, int8 weights (.tflite)…",
        _TFLITE,
        ".tflite",
    ),
    "onnx": ("ONNX (.onnx)…", "ONNX model (*.onnx)", ".onnx"),
    "png": ("Curves as PNG…", "PNG image (*.png)", ".png"),
    "svg": ("Curves as SVG…", "SVG image (*.svg)", ".svg"),
    "csv": ("History of selected runs (.csv)…", "CSV file (*.csv)", ".csv"),
    "script": ("Python script…", "Python script (*.py)", ".py"),
}


def export_dialog(panel: Any, kind: str) -> None:
    """Ask where to write, then export (``kind``: a key of ``EXPORT_KINDS``)."""
    run = panel.current_run()
    stem = str(run.get("name", "run")).replace(" ", "_") if run else "runs"
    folder = panel.project_path.parent if panel.project_path else Path.home()
    title, pattern, suffix = EXPORT_KINDS[kind]
    if kind == "saved_model":
        path, _filter = QFileDialog.getSaveFileName(
            panel, title, str(folder / f"{stem}_saved_model")
        )
    else:
        suggested = str(folder / f"{stem}{suffix}")
        path, _filter = QFileDialog.getSaveFileName(panel, title, suggested, pattern)
    if path:
        export_to(panel, kind, path)


def export_to(panel: Any, kind: str, path) -> None:
    """Export without a dialog (curves and CSV at once, the rest on the worker thread)."""
    path = Path(path)
    run = panel.current_run()
    try:
        if kind in ("png", "svg"):
            if panel.curves is None:
                raise ValueError("There are no curves to export.")
            (panel.curves.export_png if kind == "png" else panel.curves.export_svg)(path)
            panel.statusMessage.emit(f"Curves written to {path}.")
            return
        if kind == "csv":
            from engine.export import history_csv

            atomic_write_text(path, history_csv(panel.selected_runs() or panel.runs()))
            panel.statusMessage.emit(f"History written to {path}.")
            return
    except Exception as error:
        panel.statusMessage.emit(f"Export failed: {error}")
        return
    if run is None:
        panel.statusMessage.emit("Select a run to export.")
        return
    if kind in DEPLOY_KINDS:
        _export_deployable(panel, run, kind, path)
        return

    def work(cancelled):
        if kind == "script":
            from engine.export import export_script

            settings = {**panel.project, **(run.get("snapshot") or {})}
            atomic_write_text(path, export_script(settings, title=str(run.get("name"))))
        elif kind == "saved_model":
            from engine.export import export_saved_model

            export_saved_model(records.run_model(panel.project_path, run), path)
        else:
            from engine.modelfile import save_model

            save_model(records.run_model(panel.project_path, run), path)
        return path

    panel._start("export", work, lambda written: panel.statusMessage.emit(f"Wrote {written}."))


def onnx_reason() -> str | None:
    """Why the ONNX item cannot work here (tf2onnx / onnxruntime missing), or None."""
    from engine.deploy_export import onnx_unavailable_reason

    return onnx_unavailable_reason()


def _export_deployable(panel: Any, run: dict, kind: str, path: Path) -> None:
    """TFLite / ONNX on the worker thread, then the agreement with Keras on the test part."""
    if kind == "onnx" and (reason := onnx_reason()):
        panel.statusMessage.emit(reason)
        return

    def work(cancelled):
        from engine import deploy_export
        from engine.deploy_job import convert_in_subprocess
        from engine.errors import LayerLabError

        model, dataset = panel._model_and_dataset(run)
        # the converter runs in a child process: in this one it crashed (see deploy_job)
        result = convert_in_subprocess(records.weights_path(panel.project_path, run), kind, path)
        try:
            agreement = deploy_export.check_agreement(model, path, kind, dataset)
            checked = agreement.text()
        except LayerLabError as error:
            agreement, checked = None, f"Not checked against Keras: {error}"
        return run["id"], model, dataset, result, agreement, checked

    def done(payload) -> None:
        run_id, model, dataset, result, agreement, checked = payload
        panel._loaded = (run_id, model, dataset)
        panel.last_export_agreement = agreement
        note = f" {result.note}" if result.note else ""
        text = f"Wrote {result.path} ({result.size:,} bytes).{note} {checked}"
        panel.statusMessage.emit(text)
        show_agreement(panel, text)

    panel._start("export", work, done)


def show_agreement(panel: Any, text: str) -> None:
    """The export's agreement with Keras in a non-modal box (tests replace this)."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Information, "Export checked", text, parent=panel)
    box.setObjectName("exportAgreement")
    box.setModal(False)
    box.show()
    panel.agreement_box = box


def mark_unavailable(actions: dict) -> None:
    """Say in the menu why an item cannot work here (ONNX without tf2onnx/onnxruntime)."""
    reason = onnx_reason()
    action = actions.get("onnx")
    if reason and action is not None:
        action.setText("ONNX (.onnx) — needs tf2onnx and onnxruntime…")
        action.setToolTip(reason)
        action.setStatusTip(reason)
