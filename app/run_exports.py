"""Exports of the Runs panel: a run's model (.h5, .keras, SavedModel), its Python script,
the selected runs' history as CSV, and the curves as PNG/SVG. Model files and scripts are
written on the panel's worker thread; every file is written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QFileDialog

from engine import runs as records
from engine.files import atomic_write_text

EXPORT_KINDS = {
    "h5": ("Trained model (.h5)…", "Keras HDF5 model (*.h5 *.hdf5)", ".h5"),
    "keras": ("Trained model (.keras)…", "Keras model (*.keras)", ".keras"),
    "saved_model": ("TensorFlow SavedModel…", None, ""),
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
