"""``python main.py train PROJECT [--epochs N] [--out DIR] [--name NAME] [--no-record]
[--workers HOST:PORT,... --worker-index I | --local-workers N]``.

Trains headless and writes the results.

Runs the same ``engine.training.run`` as the window's Train button and prints one line per
epoch (a progress bar as well when stdout is a terminal). Ctrl-C stops after the current
batch and still writes the outputs; a second Ctrl-C aborts. Writes into DIR (default
``<project folder>/out/<project name>``):

- ``model.h5``: the trained model (legacy HDF5, no optimizer; reload with compile=False);
- ``history.csv``: one row per epoch, an ``epoch`` column (from 1) and Keras's log names;
- ``metrics.json``: status, message, epochs, duration, device, the last epoch's logs and
  ``"test"`` metrics when the dataset has a test part.

The run is also recorded in the project file, as a run trained in the window is (its
weights in ``runs/<id>.h5`` beside the project, the file saved atomically), so
``main.py runs`` compares it with the others and ``main.py evaluate`` finds it; ``--name``
names it, ``--no-record`` leaves the project file untouched. A text folder's vocabulary
learned by the run is stored in the project's dataset block as well.

Exit status: 0 completed or early-stopped, 1 the run failed (also a NaN loss), 2 bad input
(main.py prints the message): a project, dataset or setting that cannot be used -- checked
before anything is trained or recorded -- or a results folder or project that cannot be
written (full disk, read-only; a run is then recorded whole or not at all), 130 stopped with
Ctrl-C. TensorFlow's C++ log lines are kept off stderr (``LAYERLAB_DEBUG=1`` shows them).
Imports no Qt.

Several workers (``engine.distribution``, MultiWorkerMirroredStrategy): ``--workers`` lists
every worker's host:port (the same list, in the same order, on every machine) and
``--worker-index`` says which one this process is; without them an existing ``TF_CONFIG`` is
used. Worker 0, the chief, writes the results and records the run; the others write nothing
into the project (their callbacks write into a temporary folder) and exit 0 or 1.
``--local-workers N`` starts N workers on this machine over 127.0.0.1 (free ports) and waits
for them (``engine.cli.workers``); its exit status is the chief's. When a worker dies the
others fail within a bounded time (a message names the worker); the chief records the run
as failed, and no model is written.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import errno
import io
import json
import math
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

from engine.errors import LayerLabError
from engine.events import BatchesEnd, LogLine, TrainBegin
from engine.files import atomic_write_text

BAR_WIDTH = 24


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", help="the .llproj project file to train")
    parser.add_argument(
        "--epochs", type=int, metavar="N", help="train N epochs instead of the project's"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="folder for model.h5, history.csv, metrics.json "
        "(default: <project folder>/out/<project name>)",
    )
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="record the run in the project file, weights in runs/ beside it, so that "
        "'runs' and 'evaluate' see it (default); --no-record leaves the project untouched",
    )
    parser.add_argument("--name", metavar="NAME", help="name of the recorded run (default: Run N)")
    parser.add_argument(
        "--workers",
        metavar="HOST:PORT,...",
        help="train one run on several workers (MultiWorkerMirroredStrategy): every worker's "
        "address, the same list on each; worker 0 (the chief) writes the results",
    )
    parser.add_argument(
        "--worker-index",
        type=int,
        metavar="I",
        help="this worker's position in --workers (0 is the chief)",
    )
    parser.add_argument(
        "--local-workers",
        type=int,
        metavar="N",
        help="start N workers on this machine over 127.0.0.1 and wait for them",
    )


def run(args: argparse.Namespace) -> int:
    from engine.cli.workers import check_worker_arguments, launch_local

    check_worker_arguments(args)
    if getattr(args, "local_workers", None) is not None:
        return launch_local(args)  # starts the workers; imports no TensorFlow itself
    # TensorFlow logs CUDA probing and tf.data notices from C++ at "error" level, and absl,
    # oneDNN and cudart lines whatever the level when it first sets up its devices; a headless
    # run reports its own problems, so keep the terminal to the run's lines (LAYERLAB_DEBUG=1
    # shows everything).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from engine.quiet import native_stderr_captured

    with native_stderr_captured():
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    from engine.quiet import import_keras

    import_keras()
    from engine.cli.workers import worker_setting
    from engine.distribution import strategy_for
    from engine.project import load_project

    setting = worker_setting(args)  # --workers/--worker-index or TF_CONFIG; None: one process
    path = Path(args.project)
    if args.epochs is not None and args.epochs < 1:
        raise LayerLabError(f"--epochs must be at least 1, got {args.epochs}.")
    out = Path(args.out) if args.out else path.resolve().parent / "out" / path.stem
    plan = None
    if setting is not None:
        plan = strategy_for(setting)
        if plan.is_chief:
            if not path.is_file():
                raise LayerLabError(f"The project {path} does not exist.")
            if out.exists() and not out.is_dir():
                raise LayerLabError(f"--out {out} is a file, not a folder.")
            check_recording(args, path)
        # Join the other workers before TensorFlow runs anything else in this process
        # (reading the project builds its model): TensorFlow's collectives require it.
        print(
            f"Worker {plan.index} of {plan.replicas} ({plan.workers[plan.index]}): waiting for "
            "all the workers to start…",
            flush=True,
        )
        plan.join()
    project = load_project(path)
    if plan is None:
        fit = project.get("fit") if isinstance(project.get("fit"), dict) else {}
        plan = strategy_for(fit.get("devices"))
    if not plan.is_chief:
        return _train_other_worker(args, project, path, setting, plan)
    if out.exists() and not out.is_dir():
        raise LayerLabError(f"--out {out} is a file, not a folder.")
    name = check_recording(args, path)

    from engine import training
    from engine.runs import unrecorded_reason

    dataset = load_data(project, args.epochs)
    check_output_folder(out)
    printer = Printer(sys.stdout, sys.stderr, tty=_isatty(sys.stdout), replicas=plan.replicas)
    control = training.TrainControl()
    from engine.local_workers import event_sink_from_env

    with stop_on_interrupt(control, printer):
        result = training.run(
            project,
            sink=event_sink_from_env(sys.stdout) or printer,  # JSON lines for the window
            control=control,
            dataset=dataset,
            workdir=path.resolve().parent,
            epochs=args.epochs,
            project_path=path.resolve(),
            devices=setting,
        )
    problems = []  # disk errors: each said plainly, then exit status 2
    try:
        written = write_outputs(result, out)
    except (LayerLabError, OSError) as error:
        written = []
        problems.append(disk_message(error, f"Cannot write the results to {out}", _OUT_FIX))
    printer.finish(result, written)
    if args.record:
        reason = unrecorded_reason(result)
        if reason is not None:
            printer.note(reason)
        else:
            try:
                run_record = record(result, path, name, out if written else None)
            except LayerLabError as error:
                problems.append(str(error))
            else:
                printer.recorded(run_record, path)
    if problems:
        raise LayerLabError(" ".join(problems))
    if result.status == "failed":
        return 1
    if result.status == "stopped":
        return 130
    return 0


def _train_other_worker(args, project: dict, path: Path, setting: dict, plan) -> int:
    """A multi-worker run's worker other than the chief: trains its share in step with the
    others and writes nothing into the project (callbacks write into a temporary folder)."""
    from engine import training

    dataset = load_data(project, args.epochs)
    printer = Printer(sys.stdout, sys.stderr, tty=_isatty(sys.stdout), replicas=plan.replicas)
    control = training.TrainControl()
    with (
        tempfile.TemporaryDirectory(prefix="layerlab-worker-") as scratch,
        stop_on_interrupt(control, printer),
    ):
        result = training.run(
            project,
            sink=printer,
            control=control,
            dataset=dataset,
            workdir=Path(scratch),
            epochs=args.epochs,
            project_path=path.resolve(),
            devices=setting,
        )
    printer.finish(result, [])
    printer.note(f"Worker {plan.index} done; the chief (worker 0) writes the results.")
    if result.status == "failed":
        return 1
    return 130 if result.status == "stopped" else 0


def load_data(project: dict, epochs: int | None):
    """The project's dataset, loaded before anything is trained or recorded: data that cannot
    be used is bad input (``DatasetError``, exit status 2), not a failed run."""
    from engine.datasets import load_dataset
    from engine.errors import DatasetError
    from engine.training import fit_settings

    settings = fit_settings(project.get("fit"), epochs)
    compile_block = project.get("compile")
    loss = compile_block.get("loss") if isinstance(compile_block, dict) else None
    block = project.get("dataset")
    try:
        return load_dataset(block, loss=loss, validation_split=settings.validation_split)
    except LayerLabError:
        raise
    except MemoryError as error:
        from engine.training import DATA_OUT_OF_MEMORY

        raise DatasetError(DATA_OUT_OF_MEMORY) from error
    except Exception as error:  # a loader's own failure: still bad input, said plainly
        from engine.training import clean_message

        where = block.get("path") or block.get("name") if isinstance(block, dict) else None
        named = f" ({where})" if where else ""
        raise DatasetError(
            f"The dataset{named} could not be loaded: {clean_message(error)}.",
            fix="Check the file and the project's dataset settings.",
        ) from error


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):  # None under pythonw, or closed
        return False


_DISK_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def disk_message(error: BaseException, what: str, fix: str) -> str:
    """A plain sentence for a failed write: ``what`` (naming the user's file or folder), why
    and ``fix``; a ``LayerLabError`` (already naming the user's file) keeps its message."""
    if isinstance(error, LayerLabError):
        return str(error)
    code = getattr(error, "errno", None)
    reason = _DISK_REASONS.get(code) or getattr(error, "strerror", None) or str(error)
    if code in (errno.ENOSPC, errno.EDQUOT):
        fix = f"Free some space, or {fix[0].lower()}{fix[1:]}"
    return f"{what}: {reason}. {fix}"


_OUT_FIX = "Make it writable, or choose another folder with --out."


def check_output_folder(out: Path) -> None:
    """Make ``out`` and check a file can be created in it, before anything is trained."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as error:
        raise LayerLabError(
            disk_message(error, f"Cannot write the results to {out}", _OUT_FIX)
        ) from error


def check_recording(args: argparse.Namespace, path: Path) -> str | None:
    """The run's name; raises before training when the run could not be recorded."""
    name = None if args.name is None else args.name.strip()
    if args.name is not None and not name:
        raise LayerLabError("--name needs a name for the run, got an empty one.")
    if not args.record:
        if name is not None:
            raise LayerLabError("--name names the recorded run; leave out --no-record.")
        return None
    folder = path.resolve().parent
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
        raise LayerLabError(
            f"Cannot record the run in {path}: the file or its folder is read-only.",
            fix="Make it writable, or train with --no-record.",
        )
    return name


def record(result, path: Path, name: str | None, out: Path | None) -> dict:
    """Record ``result`` in the project at ``path`` (read again now, so edits saved while
    it trained are kept) and save it; returns the run record.

    The weights are written only once the project is known to be writable, and removed
    again when the project cannot be saved: a run is recorded whole or not at all. Raises
    ``LayerLabError`` saying so (``out``: where the run's files are, if they were written).
    """
    from engine.project import load_project, save_project
    from engine.runs import RUNS_FOLDER, learned_block, record_run, rename_run, weights_path

    folder = path.resolve().parent
    runs_folder = folder / RUNS_FOLDER
    had_runs_folder = runs_folder.exists()
    weights = None
    try:
        if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
            raise PermissionError(errno.EACCES, "read-only", str(path))
        project = load_project(path)
        project, run_record = record_run(project, result, path)
        weights = weights_path(path, run_record)
        if name is not None:
            project = rename_run(project, run_record["id"], name)
            run_record = project["runs"][-1]
        learned = learned_block(project.get("dataset"), result.dataset)
        if learned is not None:
            project["dataset"] = learned
        save_project(project, path)
    except (LayerLabError, OSError) as error:
        if weights is not None:
            with contextlib.suppress(OSError):
                weights.unlink(missing_ok=True)
        if not had_runs_folder:
            with contextlib.suppress(OSError):
                runs_folder.rmdir()  # only when empty
        what = f"The run was trained{' (its files are in ' + str(out) + ')' if out else ''} "
        what += f"but not recorded in {path.name}"
        fix = "Make the project writable, or train with --no-record."
        if isinstance(error, LayerLabError):
            raise LayerLabError(f"{what}: {error}") from error
        raise LayerLabError(disk_message(error, what, fix)) from error
    return run_record


class stop_on_interrupt:
    """Ctrl-C asks the run to stop (after the current batch); a second one aborts."""

    def __init__(self, control, printer: Printer):
        self.control = control
        self.printer = printer
        self.previous = None

    def _handler(self, signum, frame):
        self.control.stop()
        self.printer.note("Stopping after the current batch (Ctrl-C again to abort)…")
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


class Printer:
    """The sink for the terminal: epoch lines on stdout, a bar on a tty, problems on stderr."""

    def __init__(self, out, err, tty: bool, replicas: int = 1):
        self.out = out
        self.err = err
        self.tty = tty
        self.replicas = replicas  # several: the line gives the per-replica batch too
        self.epochs = 0
        self.steps: int | None = None
        self._bar_shown = False

    def __call__(self, event) -> None:
        if isinstance(event, TrainBegin):
            self.epochs, self.steps = event.epochs, event.steps_per_epoch
            samples = f"{event.samples:,} samples" if event.samples else "samples"
            from engine.distribution import per_replica_text

            share = per_replica_text(event.batch_size, self.replicas)
            batch = f"batch size {event.batch_size}" + (f" ({share})" if share else "")
            self._line(f"Training {samples}, {event.epochs} epochs, {batch} on {event.device}")
        elif isinstance(event, BatchesEnd):
            if self.tty:
                self._bar(event)
        elif isinstance(event, LogLine):
            if event.level == "info":
                self._line(event.text)
            elif event.level == "warning":
                self._line(f"warning: {event.text}", self.err)

    def _bar(self, event: BatchesEnd) -> None:
        done = event.first_step + len(event.losses)
        loss = event.logs.get("loss", math.nan)
        if self.steps:
            filled = int(BAR_WIDTH * done / self.steps)
            bar = "=" * filled + (">" if filled < BAR_WIDTH else "") + " " * (BAR_WIDTH - filled)
            where = f"[{bar[:BAR_WIDTH]}] {done}/{self.steps}"
        else:
            where = f"step {done}"
        text = (
            f"Epoch {event.epoch + 1}/{self.epochs} {where} - loss: {loss:.4g} - "
            f"{event.samples_per_second:,.0f} samples/s"
        )
        self.out.write("\r" + text + "\x1b[K")
        self.out.flush()
        self._bar_shown = True

    def _line(self, text: str, stream=None) -> None:
        if self._bar_shown:
            self.out.write("\r\x1b[K")
            self._bar_shown = False
        stream = stream or self.out
        stream.write(text + "\n")
        stream.flush()

    def recorded(self, run_record: dict, path: Path) -> None:
        weights = run_record.get("weights")
        where = f", weights in {weights}" if weights else ""
        self._line(f"Recorded as {run_record['name']!r} in {path.name}{where}")

    def note(self, text: str) -> None:
        self._line(text, self.err)

    def finish(self, result, written: list[Path]) -> None:
        from engine.textfmt import elapsed_text

        if result.status == "failed":
            self._line(f"layerlab train: {result.message}", self.err)
        else:
            self._line(f"{result.message} ({elapsed_text(result.seconds)})")
        if written:
            folder = written[0].parent
            self._line(f"Wrote {', '.join(p.name for p in written)} to {folder}")


def write_outputs(result, out: Path) -> list[Path]:
    """metrics.json always; history.csv and model.h5 unless the run failed."""
    from engine.training import history_rows

    out.mkdir(parents=True, exist_ok=True)
    written = []
    if result.status != "failed":
        if result.model is not None:
            written.append(_save_model(result.model, out / "model.h5"))
        rows = history_rows(result.history)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["epoch", *result.history], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(out / "history.csv", buffer.getvalue())
        written.append(out / "history.csv")
    metrics = {
        "status": result.status,
        "message": result.message,
        "epochs": result.epochs_completed,
        "duration_seconds": round(result.seconds, 3),
        "started_at": result.started_at,
        "device": result.device,
        "final": {key: values[-1] for key, values in result.history.items() if values},
    }
    if result.test_metrics is not None:
        metrics["test"] = result.test_metrics
    metrics["warnings"] = list(getattr(result, "warnings", None) or [])
    text = json.dumps(_json_safe(metrics), indent=2) + "\n"
    atomic_write_text(out / "metrics.json", text)
    written.append(out / "metrics.json")
    return written


def _save_model(model, path: Path) -> Path:
    from engine.modelfile import save_model

    save_model(model, path)
    return path


def _json_safe(value):
    """NaN/inf become null: JSON has no such numbers."""
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
