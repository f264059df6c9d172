"""Hyperparameter search from the window: the space, running it, its views.

``SearchFlow(window, run_search=None, pool=None)`` adds the Search tab (``SearchPanel``) and
the Training › Search Hyperparameters… action, and wires:

- "Search this setting…" from the property editor (``searchRequested(index, name, hint)``;
  name "" switches the layer on/off) and the training panel (``searchRequested(path,
  hint)``) → a ``SearchEntryDialog`` → ``project["search"]`` as ONE undo step
  (``document.edit``); the tab's list edits and removes entries, its objective too;
- Start: the project must be saved (asked, like Save); ``engine.search.run_search`` runs in
  a ``BackgroundJob`` thread (the GUI thread never waits on it) with a sink whose events
  come back as Qt signals: the curves and progress follow one running trial at a time
  ("trial-N" job ids), the status says "Trial 3 of 20 (2 running)", each finished trial's
  run comes with its ``TrialFinished`` event into the document (the runs table gains it);
- Stop sets the search's stop event (running trials stop, the study stays resumable);
  ``may_stop()`` asks before New/Open; ``shutdown()`` on close;
- the views redraw from the document's trial runs: parallel coordinates, importance (from
  the last search's result), the Pareto front for two objectives, and "Apply best to the
  model" (the best trial's values into model/compile/fit, one undo step);
- a study searched earlier (another session, the CLI) is read in a thread when the tab is
  shown (``load_summary``): its importances and counts, and Start resumes it.

The job thread and the merging of runs are ``app.model_jobs``; editing the search block
(space, objective, Optuna's settings) is ``app.search_settings``; the views of the trials
are ``app.search_results``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMessageBox

from app import gc_guard
from app import search_results as results
from app.model_jobs import (
    BACKGROUND_POOL,
    BackgroundJob,
    ask_to_stop,
    ensure_saved,
    job_sink_event,
    merge_from_disk,
    merge_recorded,
)
from app.search_panel import SearchPanel
from app.search_settings import SearchSettingsEditing
from engine.errors import LayerLabError
from engine.search import STOPPED_MESSAGE, counts_text


class SearchFlow(SearchSettingsEditing, QObject):
    def __init__(self, window: Any, *, run_search: Callable | None = None, pool: Any = None):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self._run_search = run_search
        self.pool = pool
        self.job = BackgroundJob(self)
        window.files.writers.append(self.job.is_running)  # its writes are not read back
        self.summary_job = BackgroundJob(self)  # an earlier search's study, read for the views
        self.summary_job.finished.connect(self._on_summary)
        window.tabs.currentChanged.connect(lambda _i: QTimer.singleShot(0, self.load_summary))
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(100)
        self._refresh_timer.timeout.connect(self.refresh)
        self._pending_runs: list[dict] = []  # trials' runs not merged into the document yet
        self._merge_timer = QTimer(self)
        self._merge_timer.setSingleShot(True)
        self._merge_timer.setInterval(1000)
        self._merge_timer.timeout.connect(self._merge_pending)
        self.result: Any = None
        self._generation: int | None = None
        self._shown: str | None = None
        self._running: set[str] = set()
        self._states: dict[str, int] = {}
        self._total = 0
        self.panel = SearchPanel(window)
        window.search_panel = self.panel
        from app.window_layout import scrolled_page

        window.search_page = scrolled_page(self.panel, "searchPage")
        window.tabs.addTab(window.search_page, "Search")
        window.search_action = QAction("&Search Hyperparameters…", window)
        window.search_action.setObjectName("searchAction")
        window.search_action.triggered.connect(self.show_tab)

        self.document.changed.connect(self._on_document_changed)
        self.document.reset.connect(self.reset)
        window.property_editor.searchRequested.connect(self._on_layer_search)
        window.training_panel.searchRequested.connect(self.search_setting)
        panel = self.panel
        panel.space_list.spaceEdited.connect(lambda space: self.set_space(space, "Remove"))
        panel.space_list.editRequested.connect(self._on_edit_entry)
        panel.objectiveEdited.connect(self._on_objective)
        panel.engineEdited.connect(self._on_engine)
        panel.startRequested.connect(self.start)
        panel.stopRequested.connect(self.stop)
        panel.applyBestRequested.connect(self.apply_best)
        self.job.event.connect(self._on_event)
        self.job.errored.connect(self._on_errored)
        self.job.finished.connect(self._on_finished)
        self.job.runningChanged.connect(self._on_running_changed)
        self.refresh()

    # ------------------------------------------------------------------ running
    def show_tab(self) -> None:
        self.window.tabs.setCurrentWidget(self.window.search_page)

    def is_running(self) -> bool:
        return self.job.is_running()

    def start(self) -> bool:
        window = self.window
        if self.is_running():
            return False
        if window.controller.is_running():
            QMessageBox.information(window, "Search", "Wait for the training run to end first.")
            return False
        if not self.block().get("space"):
            QMessageBox.information(
                window,
                "Search",
                "Choose settings to search first: right-click a setting in the layer "
                "properties or the Training panel and choose “Search this setting…”.",
            )
            return False
        if not ensure_saved(window, "Search"):
            return False
        panel = self.panel
        trials, workers = panel.trials_spin.value(), panel.workers_spin.value()
        epochs = panel.epochs_spin.value() or None
        path = self.document.path
        run = self._run_search
        if run is None:
            from engine.search import run_search as run
        pool = self.pool

        def work(sink, stop):
            return run(
                path,
                trials,
                workers,
                sink=sink,
                stop=stop,
                epochs=epochs,
                pool=pool,
                pool_options=BACKGROUND_POOL,
            )

        self.result = None
        self._generation = self.document.generation
        self._shown = None
        self._running = set()
        self._states = {}
        self._total = trials
        window.curves.clear()
        window.progress.reset()
        self._status(f"Starting {trials} trial{'s' if trials != 1 else ''}…")
        return self.job.start(work)

    def stop(self) -> None:
        if self.is_running():
            self._status("Stopping the search…")
            self.job.stop()

    def may_stop(self) -> bool:
        """Before New/Open: ask to stop a running search; True when none runs (any more)."""
        if not self.is_running():
            return True
        question = (
            "A hyperparameter search is going. Stop it and open another project? "
            "(It can be resumed later.)"
        )
        return ask_to_stop(self.window, "A search is running", question) and self.job.shutdown()

    def shutdown(self) -> None:
        self.job.shutdown()
        self.summary_job.shutdown()

    def _current(self) -> bool:
        return self._generation == self.document.generation

    def _on_event(self, job_id: str, event: Any) -> None:
        if not self._current():
            return
        name = type(event).__name__
        window = self.window
        if name == "JobStarted":
            self._running.add(job_id)
        elif name == "TrialFinished":
            gc_guard.freeze_once("search started")  # what its imports made stays
            self._running.discard(job_id)
            state = "STOPPED" if event.message == STOPPED_MESSAGE else event.state
            self._states[state] = self._states.get(state, 0) + 1
            if job_id == self._shown:
                self._shown = None
            if isinstance(getattr(event, "run", None), dict):
                # at most one merge a second: each refreshes the runs views
                self._pending_runs.append(event.run)
                if not self._merge_timer.isActive():
                    self._merge_timer.start()
        elif name == "TrainBegin" and self._shown is None:
            self._shown = job_id
        if job_id == self._shown and job_sink_event(event):
            window.curves.on_event(event)
            window.progress.on_event(event)
        if name in ("JobStarted", "TrialFinished"):
            self._status(self.progress_text())

    def _merge_pending(self) -> None:
        runs, self._pending_runs = self._pending_runs, []
        if runs and self._current():
            merge_recorded(self.window, runs)

    def progress_text(self) -> str:
        done = sum(self._states.values())
        running = len(self._running)
        text = f"Trial {min(done + max(running, 1), self._total)} of {self._total}"
        text += f" ({running} running)" if running else ""
        counts = [
            f"{self._states[state]} {word}"
            for state, word in (
                ("COMPLETE", "completed"),
                ("PRUNED", "pruned"),
                ("STOPPED", "stopped"),
                ("FAIL", "failed"),
            )
            if self._states.get(state)
        ]
        if self._shown:
            text += f"; curves: trial {self._shown.removeprefix('trial-')}"
        return text + (" — " + ", ".join(counts) if counts else "")

    def _on_errored(self, message: str) -> None:
        if self._current():
            QMessageBox.warning(self.window, "Search", message)

    def _on_finished(self, result: Any) -> None:
        if not self._current():
            return
        self.result = result
        if result is not None:
            gc_guard.freeze_once("search importances")  # SciPy, pandas, scikit-learn
        self._running = set()
        self._merge_timer.stop()
        self._pending_runs = []
        merge_from_disk(self.window)
        if result is not None:
            counts = getattr(result, "counts", {}) or {}
            text = (
                f"{len(result.trials)} trial(s) this time"
                + ("; stopped (Start resumes the study)" if result.stopped else "")
                + f". Study: {counts_text(counts)}."
            )
            self._status(text)
            self.window.progress.show_done(
                f"Search {'stopped' if result.stopped else 'finished'}: "
                f"{len(result.trials)} trial(s)"
            )
        self.refresh()

    def _on_running_changed(self, running: bool) -> None:
        self.panel.set_running(running)
        self.window.statusBar().showMessage(
            "Searching…" if running else "Search ended", 0 if running else 5000
        )

    def _status(self, text: str) -> None:
        self.panel.set_status(text)

    # ------------------------------------------------------------------ views
    def reset(self) -> None:
        """Another project: what runs belongs to the previous one (it is stopped by
        ``may_stop`` first); its result and views go."""
        self.result = None
        self._pending_runs = []
        self._merge_timer.stop()
        self._generation = -1 if self._generation is not None else None
        self._status("")

    def load_summary(self) -> bool:
        """Read the study of a search run earlier (another session, the CLI) in a thread,
        so the tab shows its importances and counts and says that Start resumes it. Only
        while the tab is on screen, no search runs here and the project has trial runs."""
        path = self.document.path
        if (
            self.result is not None
            or self.is_running()
            or self.summary_job.is_running()
            or path is None
            or not self.panel.isVisible()
            or not self.completed_runs()
            # a server may keep a connection waiting for minutes (and the window's close
            # with it): only a study in an SQLite file is read unasked
            or not str(self.block().get("storage") or "sqlite").startswith("sqlite")
        ):
            return False
        generation = self.document.generation

        def work(sink, stop):
            from engine.search import study_summary

            try:
                return generation, study_summary(path)
            except LayerLabError:
                return generation, None  # no study (yet), or its storage unreachable

        return self.summary_job.start(work)

    def _on_summary(self, payload: Any) -> None:
        generation, result = payload if payload is not None else (None, None)
        if result is None or generation != self.document.generation:
            return
        if self.result is not None or self.is_running():
            return
        gc_guard.freeze_once("search importances")  # SciPy, pandas, scikit-learn
        self.result = result
        counts = result.counts
        self._status(f"Study: {counts_text(counts)}. Start resumes it.")
        self.refresh()

    def _on_document_changed(self, sections) -> None:
        if "search" in sections:
            self.refresh()  # an edit of the space shows at once
        elif {"runs", "model"} & set(sections):
            self._refresh_timer.start()  # trials arriving: one redraw for a burst
        if "runs" in sections:
            self.load_summary()  # (a project just opened on this tab)

    def trial_runs(self) -> list[dict]:
        """The document's runs that are trials of this project's study."""
        return results.trial_runs(self.document.project, self.block(), self.document.path)

    def goals(self) -> list[dict]:
        return results.goals(self.block())

    def best_run(self) -> dict | None:
        return results.best_run(self.completed_runs(), self.goals()[0])

    def completed_runs(self) -> list[dict]:
        return results.completed(self.trial_runs())

    def refresh(self) -> None:
        """The panel shows the search block and this study's trials (``app.search_results``)."""
        self._refresh_timer.stop()
        importance = getattr(self.result, "importance", None) or {}
        results.show(self.panel, self.block(), self.trial_runs(), importance, self.is_running())

    def apply_best(self) -> bool:
        """The best completed trial's values into the model and training settings (one undo
        step)."""
        from engine.search import best_params_applied

        best = self.best_run()
        if best is None:
            return False
        try:
            applied = best_params_applied(self.document.project, dict(best.get("params") or {}))
        except LayerLabError as error:
            QMessageBox.warning(self.window, "Apply best", str(error))
            return False
        self.document.edit(
            f"Apply best trial ({best.get('name')})",
            {key: applied[key] for key in ("model", "compile", "fit") if key in applied},
        )
        return True
