"""Training in worker processes: ``python -m engine.worker`` and ``WorkerPool``.

**The worker** (``python -m engine.worker``) reads jobs from its stdin, each a JSON object
on one line::

    {"id": "trial-3", "project": {...}, "out": "/folder/for/results",
     "workdir": "/project/folder", "epochs": null, "evaluate_test": true,
     "fold": {"k": 5, "index": 2, "seed": 0} | null}

(or ``"project_path"`` instead of ``"project"``; optional overrides ``"params"``:
``{path: value}`` as ``engine.search.apply_params`` takes them, and ``"seed"``: fit.seed)

and runs each, one after the other, with ``engine.training.run`` -- the function behind the
window's Train button and ``main.py train`` -- and a sink that writes every event as one
JSON line to stdout (``engine.worker_protocol``). Other stdin lines control the running job:
``stop <id>``, ``pause <id>``, ``resume <id>`` (without the id: the job running now).
SIGTERM and the end of stdin (the parent is done, or died) stop the job and end the worker;
SIGINT is ignored (Ctrl-C in a terminal reaches the parent, which stops its workers itself).
Each job's run record (``engine.runs`` format, weights in ``runs/<id>.h5``) and
``result.json`` go into its ``out`` folder, and a ``JobResult`` is its last event. The
dataset is loaded once per worker while the jobs ask for the same one.

**The parent** (``WorkerPool``) starts up to N such processes with ``subprocess.Popen``
(a fresh interpreter each: nothing of TensorFlow is forked), one reader thread per process
that parses lines back into events and calls ``sink(job_id, event)``. Every job gets a
``JobStarted`` first and a ``JobFinished`` last, whatever happens; a worker that crashes or
is killed (no ``JobResult``) gets a failed ``JobResult`` with a plain message, and a fresh
process takes its place. Stop requests not obeyed within ``stop_grace`` seconds, and jobs
over their ``timeout``, are killed. The parent never imports Keras: its memory stays flat
however many jobs run. ``adopt_runs`` moves finished jobs' runs into the project file.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.events import LogLine, TrainEnd
from engine.worker_protocol import (
    JobFinished,
    JobResult,
    JobStarted,
    ProtocolError,
    from_json_line,
    to_json_line,
)

RESULT_FILE = "result.json"
LOG_FILE = "worker.log"
_JOB_PROJECT_FILE = "job.llproj"  # never written: anchors the run's relative weights path
_ROOT = Path(__file__).resolve().parent.parent
NICE_VARIABLE = "LAYERLAB_WORKER_NICE"  # a worker lowers its CPU priority by this much
BACKGROUND_NICE = 10  # the window's workers: the window keeps the CPU when it needs it

JobSink = Callable[[str, Any], Any]


def default_workers() -> int:
    """One worker per two cores (at least one)."""
    return max(1, (os.cpu_count() or 2) // 2)


# --- parent side ---------------------------------------------------------------------------


@dataclass
class Job:
    """One training run for a worker. ``project``: the project dict as it is to be trained
    (its runs are not sent); ``out``: the folder the worker writes into; ``label``: how
    messages name it ("trial 3"); ``timeout``: seconds before it is killed (None: never);
    ``params`` ({path: value}) and ``seed`` (fit.seed): applied by the worker."""

    id: str
    project: dict
    out: str | os.PathLike
    workdir: str | os.PathLike | None = None
    epochs: int | None = None
    evaluate_test: bool = True
    fold: dict | None = None
    label: str = ""
    timeout: float | None = None
    params: dict | None = None
    seed: int | None = None

    def to_json(self) -> str:
        project = {k: v for k, v in self.project.items() if k not in ("runs", "groups")}
        return json.dumps(
            {
                "id": self.id,
                "project": project,
                "out": str(self.out),
                "workdir": None if self.workdir is None else str(self.workdir),
                "epochs": self.epochs,
                "evaluate_test": self.evaluate_test,
                "fold": self.fold,
                "params": self.params,
                "seed": self.seed,
            }
        )


@dataclass
class _Assigned:
    job: Job
    started: float
    result: JobResult | None = None
    stop_asked: float | None = None


@dataclass
class _Process:
    process: subprocess.Popen
    log_path: Path
    log: Any
    assigned: _Assigned | None = None
    jobs_done: int = 0
    retiring: bool = False
    killed_because: str | None = None
    stdin_lock: threading.Lock = field(default_factory=threading.Lock)


class WorkerPool:
    """Run ``Job``s in up to ``workers`` worker processes at once, reporting every event to
    ``sink(job_id, event)`` from the pool's reader threads (the sink must be thread-safe;
    exceptions it raises are ignored). A worker process runs one job at a time and is
    reused for the next (TensorFlow is imported once per process, not per job), up to
    ``max_jobs_per_worker`` jobs; then a fresh one takes its place. ``command``: the
    worker's command line (default: this Python, ``-m engine.worker``). ``nice``: how much
    less urgent the workers are for the CPU than this process (``BACKGROUND_NICE`` for the
    window's searches and groups, so its GUI thread is not kept waiting by trials; ignored
    where the platform has no ``os.nice``). Use as a context manager, or call
    ``close()``."""

    def __init__(
        self,
        workers: int = 1,
        sink: JobSink | None = None,
        *,
        python: str | None = None,
        command: list[str] | None = None,
        stop_grace: float = 30.0,
        max_jobs_per_worker: int = 25,
        env: dict | None = None,
        nice: int = 0,
    ):
        self.workers = max(1, int(workers))
        self.nice = max(0, int(nice))
        self.sink = sink or (lambda job_id, event: None)
        self.command = list(command or [python or sys.executable, "-m", "engine.worker"])
        self.stop_grace = float(stop_grace)
        self.max_jobs_per_worker = max(1, int(max_jobs_per_worker))
        self.env = env
        self._lock = threading.Condition()
        self._queue: collections.deque[Job] = collections.deque()
        self._processes: list[_Process] = []
        self._closed = False
        self._logs = Path(tempfile.mkdtemp(prefix="layerlab-workers-"))
        self._monitor = threading.Thread(target=self._watch, name="worker-pool-watch", daemon=True)
        self._monitor.start()

    # public -------------------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        """Queue ``job``; it starts as soon as a worker is free."""
        with self._lock:
            if self._closed:
                raise RuntimeError("The worker pool is closed.")
            if self._find(job.id) is not None or any(q.id == job.id for q in self._queue):
                raise ValueError(f"A job with id {job.id!r} is already in the pool.")
            self._queue.append(job)
            started = self._dispatch()
        self._emit_all(started)

    @property
    def busy(self) -> int:
        """Jobs running or queued."""
        with self._lock:
            return self._busy()

    @property
    def free(self) -> int:
        """How many more jobs would start at once."""
        with self._lock:
            return max(0, self.workers - self._busy())

    def pid(self, job_id: str) -> int | None:
        """The process id of the worker running ``job_id`` (None unless it runs)."""
        with self._lock:
            worker = self._find(job_id)
            return worker.process.pid if worker else None

    def stop(self, job_id: str) -> None:
        """Ask job ``job_id`` to stop (it ends with status "stopped" after the current
        batch); a queued job is dropped (it gets its ``JobFinished``, status "stopped")."""
        dropped = None
        with self._lock:
            for job in self._queue:
                if job.id == job_id:
                    dropped = job
                    self._queue.remove(job)
                    break
            worker = self._find(job_id)
            if worker is not None and worker.assigned.stop_asked is None:
                worker.assigned.stop_asked = time.monotonic()
        if dropped is not None:
            self._finish_unstarted(dropped)
        if worker is not None:
            self._send(worker, f"stop {job_id}")

    def pause(self, job_id: str) -> None:
        with self._lock:
            worker = self._find(job_id)
        if worker is not None:
            self._send(worker, f"pause {job_id}")

    def resume(self, job_id: str) -> None:
        with self._lock:
            worker = self._find(job_id)
        if worker is not None:
            self._send(worker, f"resume {job_id}")

    def stop_all(self) -> None:
        """Drop the queued jobs and ask every running one to stop."""
        with self._lock:
            queued, self._queue = list(self._queue), collections.deque()
            running = [w.assigned.job.id for w in self._processes if w.assigned is not None]
        for job in queued:
            self._finish_unstarted(job)
        for job_id in running:
            self.stop(job_id)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every submitted job has finished; False when ``timeout`` ran out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._busy():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._lock.wait(0.5 if left is None else min(left, 0.5))
        return True

    def close(self, timeout: float | None = None) -> None:
        """Stop everything, let the workers exit (killing those that do not within the
        grace time) and wait for them."""
        with self._lock:
            self._closed = True
        self.stop_all()
        grace = self.stop_grace + 5.0 if timeout is None else timeout
        if not self.wait(grace):
            with self._lock:
                busy = [w for w in self._processes if w.assigned is not None]
            for worker in busy:
                self._kill(worker, "it did not stop when asked")
            self.wait(10.0)
        with self._lock:
            workers = list(self._processes)
        for worker in workers:
            self._retire(worker)
        deadline = time.monotonic() + 10.0
        for worker in workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._kill(worker, "it did not exit when the pool closed")
                with contextlib.suppress(subprocess.TimeoutExpired):
                    worker.process.wait(timeout=5.0)
        shutil.rmtree(self._logs, ignore_errors=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # internals ----------------------------------------------------------------------------

    def _busy(self) -> int:  # with self._lock held
        return len(self._queue) + sum(1 for w in self._processes if w.assigned is not None)

    def _find(self, job_id: str) -> _Process | None:  # with self._lock held
        for worker in self._processes:
            if worker.assigned is not None and worker.assigned.job.id == job_id:
                return worker
        return None

    def _emit(self, job_id: str, event) -> None:
        try:
            self.sink(job_id, event)
        except Exception as error:  # a sink's failure must never stall the pool
            with contextlib.suppress(Exception):
                print(f"layerlab worker pool: sink failed: {error!r}", file=sys.stderr)

    def _emit_all(self, events: list) -> None:
        for job_id, event in events:
            self._emit(job_id, event)

    def _dispatch(self) -> list:  # with self._lock held; returns events to emit after it
        events = []
        while self._queue and not self._closed:
            idle = [
                w
                for w in self._processes
                if w.assigned is None and not w.retiring and w.process.poll() is None
            ]
            if idle:
                worker = idle[0]
            elif len([w for w in self._processes if not w.retiring]) < self.workers:
                try:
                    worker = self._spawn()
                except OSError as error:
                    job = self._queue.popleft()
                    message = f"The worker for {job.label or job.id} could not start: {error}."
                    events.append((job.id, JobResult("failed", message, folder=str(job.out))))
                    events.append((job.id, JobFinished("failed", message)))
                    continue
            else:
                break
            job = self._queue.popleft()
            worker.assigned = _Assigned(job, time.monotonic())
            events.append((job.id, JobStarted(pid=worker.process.pid)))
            self._send(worker, job.to_json())
        return events

    def _spawn(self) -> _Process:  # with self._lock held
        log_path = self._logs / f"worker-{len(os.listdir(self._logs)) + 1}.log"
        log = open(log_path, "wb")  # noqa: SIM115 - closed when the process ends
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONPATH"] = os.pathsep.join([str(_ROOT), *filter(None, [env.get("PYTHONPATH")])])
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        env["PYTHONUNBUFFERED"] = "1"
        # N workers share the cores: each gets its part instead of all of them (TensorFlow
        # sizes its thread pool to every core, and N such pools thrash).
        share = str(max(1, (os.cpu_count() or 1) // self.workers))
        env.setdefault("TF_NUM_INTRAOP_THREADS", share)
        env.setdefault("OMP_NUM_THREADS", share)
        if self.nice:
            env[NICE_VARIABLE] = str(self.nice)
        try:
            process = subprocess.Popen(
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=str(_ROOT),
                env=env,
                close_fds=True,
            )
        except OSError:
            log.close()
            raise
        worker = _Process(process, log_path, log)
        self._processes.append(worker)
        threading.Thread(
            target=self._read, args=(worker,), name=f"worker-{process.pid}", daemon=True
        ).start()
        return worker

    def _send(self, worker: _Process, line: str) -> None:
        with worker.stdin_lock:
            try:
                worker.process.stdin.write((line + "\n").encode())
                worker.process.stdin.flush()
            except (OSError, ValueError):
                pass  # already gone; its reader reports how it ended

    def _retire(self, worker: _Process) -> None:
        """Let an idle worker exit (the end of its input ends it)."""
        worker.retiring = True
        with worker.stdin_lock, contextlib.suppress(OSError):
            worker.process.stdin.close()

    def _kill(self, worker: _Process, because: str) -> None:
        if worker.process.poll() is None:
            worker.killed_because = worker.killed_because or because
            with contextlib.suppress(OSError):
                worker.process.kill()

    def _read(self, worker: _Process) -> None:
        try:
            for raw in worker.process.stdout:
                try:
                    event = from_json_line(raw.decode("utf-8", "replace"))
                except ProtocolError:
                    continue  # stray output: the worker keeps its stdout for events
                with self._lock:
                    assigned = worker.assigned
                if assigned is None:
                    continue
                job_id = assigned.job.id
                if isinstance(event, JobResult):
                    assigned.result = event
                self._emit(job_id, event)
                if isinstance(event, JobResult):
                    self._emit(job_id, JobFinished(event.status, event.message))
                    with self._lock:
                        worker.assigned = None
                        worker.jobs_done += 1
                        if worker.jobs_done >= self.max_jobs_per_worker:
                            self._retire(worker)
                        started = self._dispatch()
                        self._lock.notify_all()
                    self._emit_all(started)
        except (OSError, ValueError):
            pass
        try:
            code = worker.process.wait(timeout=self.stop_grace)
        except subprocess.TimeoutExpired:
            self._kill(worker, "it did not exit after its output ended")
            code = worker.process.wait()
        for stream in (worker.process.stdin, worker.process.stdout, worker.log):
            with contextlib.suppress(OSError):
                stream.close()
        with self._lock:
            assigned, worker.assigned = worker.assigned, None
            if worker in self._processes:
                self._processes.remove(worker)
        if assigned is not None:
            job = assigned.job
            message = self._crash_message(worker, job, code)
            self._emit(job.id, LogLine(message, level="error"))
            self._emit(job.id, JobResult("failed", message, folder=str(job.out), exit_code=code))
            self._emit(job.id, JobFinished("failed", message, exit_code=code))
        with self._lock:
            started = self._dispatch()
            self._lock.notify_all()
        self._emit_all(started)

    def _crash_message(self, worker: _Process, job: Job, code: int | None) -> str:
        name = job.label or job.id
        if worker.killed_because:
            how = f"was ended because {worker.killed_because}"
        elif code is not None and code < 0:
            try:
                signame = signal.Signals(-code).name
            except ValueError:
                signame = f"signal {-code}"
            how = f"was killed ({signame}) before it finished"
        else:
            how = f"ended unexpectedly (exit code {code}) before it finished"
        message = f"The worker process for {name} {how}."
        last = _last_line(worker.log_path)
        if last:
            message += f" Its last output: {last}"
        return message + " The other runs go on; run it again to retry."

    def _finish_unstarted(self, job: Job) -> None:
        message = f"{(job.label or job.id)[:1].upper()}{(job.label or job.id)[1:]} was stopped "
        message += "before it started."
        self._emit(job.id, JobResult("stopped", message, folder=str(job.out)))
        self._emit(job.id, JobFinished("stopped", message))
        with self._lock:
            self._lock.notify_all()

    def _watch(self) -> None:
        while True:
            time.sleep(0.2)
            now = time.monotonic()
            with self._lock:
                if self._closed and not self._processes:
                    return
                busy = [(w, w.assigned) for w in self._processes if w.assigned is not None]
            for worker, assigned in busy:
                timeout = assigned.job.timeout
                if timeout is not None and now - assigned.started > timeout:
                    self._kill(worker, f"it ran past its time limit of {timeout:g} s")
                elif (
                    assigned.stop_asked is not None and now - assigned.stop_asked > self.stop_grace
                ):
                    self._kill(
                        worker, f"it did not stop within {self.stop_grace:g} s of being asked"
                    )


@contextlib.contextmanager
def borrowed_pool(pool: WorkerPool | None, workers: int, sink: JobSink, options: dict | None):
    """``pool`` with its sink set to ``sink`` for the block (and put back after), or a new
    pool of ``workers`` made with ``options`` and closed after the block."""
    if pool is None:
        with WorkerPool(workers, sink, **(options or {})) as made:
            yield made
        return
    previous = pool.sink
    pool.sink = sink
    try:
        yield pool
    finally:
        try:
            pool.stop_all()  # only when the block left early: nothing runs otherwise
            pool.wait(pool.stop_grace + 5.0)
        finally:
            pool.sink = previous


def _last_line(path: Path, limit: int = 300) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 4096))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


# The project files adopt_runs wrote last: path -> (the file's identity then, what it wrote)
_ADOPTED: dict[str, tuple[tuple, dict]] = {}
_ADOPTED_LOCK = threading.Lock()


def _identity(path: Path) -> tuple | None:
    """What tells one version of the file at ``path`` from another (an atomic save makes a
    new inode; an edit in place changes the size or the modification time)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)


def adopt_runs(project_path: str | os.PathLike, items: list[tuple[JobResult, dict]]) -> list[dict]:
    """Record finished jobs' runs in the project file at ``project_path``.

    ``items``: (a ``JobResult`` with a record, fields to set in the run: ``name``, ``group``,
    ``params`` ...). Each run's weights move from the job's folder to ``runs/`` beside the
    project; the file is read again now and saved atomically (runs recorded meanwhile by the
    window or another command are kept). Returns the recorded runs. Never imports Keras.

    A file this function wrote last and nobody replaced since is not read again: what was
    written is remembered (a search records a run per trial into a file that grows by one
    run each time; parsing it again held the GIL for milliseconds per trial, while the
    window's GUI thread waited).
    """
    from engine.files import read_json
    from engine.project import save_project
    from engine.runs import RUNS_FOLDER, _next_name

    path = Path(project_path)
    key = str(path.resolve())
    with _ADOPTED_LOCK:
        remembered = _ADOPTED.get(key)
    if remembered is not None and remembered[0] == _identity(path):
        data = dict(remembered[1])
    else:
        data = read_json(path)
    runs = list(data.get("runs") or [])
    taken = {run.get("id") for run in runs if isinstance(run, dict)}
    recorded = []
    for result, extra in items:
        if not result.record:
            continue
        run = dict(result.record)
        if run.get("id") in taken:
            continue
        weights = run.get("weights")
        if weights:
            source = Path(result.folder) / weights
            target = path.parent / RUNS_FOLDER / Path(weights).name
            if source.is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), str(target))
                run["weights"] = f"{RUNS_FOLDER}/{target.name}"
            else:
                run["weights"] = None
        run["name"] = _next_name(runs)
        run.update(extra)
        runs.append(run)
        taken.add(run.get("id"))
        recorded.append(run)
    if recorded:
        data["runs"] = runs
        with _ADOPTED_LOCK:
            _ADOPTED.pop(key, None)
        save_project(data, path)
        identity = _identity(path)
        if identity is not None:
            with _ADOPTED_LOCK:
                _ADOPTED[key] = (identity, data)
    return recorded


# --- worker side -------------------------------------------------------------------------


def run_job(job: dict, sink, control) -> JobResult:
    """Run one job in this process (the worker's body; also usable in-process)."""
    from engine.errors import LayerLabError

    out = Path(job.get("out") or ".")
    out.mkdir(parents=True, exist_ok=True)
    try:
        from engine.project import load_project, validate_project

        if job.get("project") is None and job.get("project_path"):
            project = load_project(job["project_path"])
        else:
            project = validate_project(job.get("project"))
        if job.get("params"):
            from engine.search import apply_params

            project = validate_project(apply_params(project, job["params"]))
        if job.get("seed") is not None:
            project["fit"] = {**project["fit"], "seed": int(job["seed"])}
        dataset = _job_dataset(project, job.get("fold"))
    except Exception as error:
        message = str(error) if isinstance(error, LayerLabError) else _load_failure(error, job)
        sink(LogLine(message, level="error"))
        sink(TrainEnd("failed", message, 0, 0.0, {}))
        return JobResult("failed", message, folder=str(out))
    from engine import training
    from engine.runs import record_run

    result = training.run(
        project,
        sink=sink,
        control=control,
        dataset=dataset,
        workdir=Path(job["workdir"]) if job.get("workdir") else out,
        epochs=job.get("epochs"),
        evaluate_test=bool(job.get("evaluate_test", True)),
    )
    count = None
    with contextlib.suppress(Exception):
        count = int(result.model.count_params()) if result.model is not None else None
    record = None
    status, message = result.status, result.message
    try:
        _, record = record_run({"runs": []}, result, out / _JOB_PROJECT_FILE)
    except LayerLabError as error:
        status, message = "failed", str(error)
    if record is not None:
        if job.get("fold"):
            record["fold"] = dict(job["fold"])
        record["parameter_count"] = count
    result.model = result.dataset = None  # the next job must not keep them alive
    outcome = JobResult(status, message, str(out), record, count)
    from engine.files import atomic_write_text

    with contextlib.suppress(OSError, LayerLabError):
        atomic_write_text(out / RESULT_FILE, to_json_line(outcome) + "\n")
    return outcome


def _load_failure(error: BaseException, job: dict) -> str:
    from engine.training import clean_message

    block = (job.get("project") or {}).get("dataset")
    where = (block.get("path") or block.get("name")) if isinstance(block, dict) else None
    named = f" ({where})" if where else ""
    return (
        f"The dataset{named} could not be loaded: {clean_message(error)}. Check the file and "
        "the project's dataset settings."
    )


_cached: dict = {}


def _job_dataset(project: dict, fold: dict | None):
    """The dataset for a job: loaded once per worker and reused while the next job asks
    for the same data (a search's trials all do), split into a fold when asked."""
    from engine.datasets import load_dataset
    from engine.training import fit_settings

    compile_block = project.get("compile") or {}
    loss = compile_block.get("loss")
    split = 0.0 if fold else fit_settings(project.get("fit")).validation_split
    key = json.dumps([project.get("dataset"), loss, split], sort_keys=True, default=str)
    if _cached.get("key") != key:
        _cached.clear()
        try:
            dataset = load_dataset(project.get("dataset"), loss=loss, validation_split=split)
        except MemoryError as error:
            from engine.errors import DatasetError
            from engine.training import DATA_OUT_OF_MEMORY

            raise DatasetError(DATA_OUT_OF_MEMORY) from error
        _cached.update(key=key, dataset=dataset)
    dataset = _cached["dataset"]
    if not fold:
        return dataset
    from engine.groups import fold_dataset

    return fold_dataset(dataset, int(fold["k"]), int(fold["index"]), int(fold.get("seed") or 0))


class _Inbox:
    """Reads the worker's stdin on a thread: jobs (JSON lines) queue up for the main thread;
    ``stop|pause|resume <job id>`` lines control the job of that id (a stop for a job that
    is queued here stops it as it starts; commands for other ids are ignored). The end of
    input stops everything."""

    def __init__(self, stream):
        import queue

        self.jobs: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.current: tuple[str, Any] | None = None
        self.queued: set[str] = set()
        self.stopped: set[str] = set()
        self.closed = False
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for raw in stream:
            line = raw.strip()
            if line.startswith("{"):
                with contextlib.suppress(ValueError, AttributeError), self.lock:
                    self.queued.add(str(json.loads(line).get("id")))
                self.jobs.put(line)
                continue
            command, _, job_id = line.partition(" ")
            with self.lock:
                current = self.current
                if current is None or job_id not in ("", current[0]):
                    if command == "stop" and job_id in self.queued:
                        self.stopped.add(job_id)
                    continue
                control = current[1]
            if command == "stop":
                control.stop()
            elif command == "pause":
                control.pause()
            elif command == "resume":
                control.resume()
        self.stop_everything()

    def stop_everything(self) -> None:
        with self.lock:
            self.closed = True
            if self.current is not None:
                self.current[1].stop()
        self.jobs.put(None)

    def start(self, job_id: str, control) -> None:
        with self.lock:
            self.current = (job_id, control)
            self.queued.discard(job_id)
            if job_id in self.stopped or self.closed:
                control.stop()
            self.stopped.discard(job_id)

    def done(self) -> None:
        with self.lock:
            self.current = None


def lower_priority(nice: str | int | None) -> int:
    """Make this process (and the threads it starts) ``nice`` steps less urgent for the
    CPU; returns the niceness now (0 where the platform has no ``os.nice``)."""
    try:
        steps = max(0, min(19, int(nice or 0)))
    except ValueError:
        steps = 0
    if not hasattr(os, "nice"):
        return 0
    try:
        return os.nice(steps)
    except OSError:
        return os.nice(0)


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The events own the real stdout; anything else printed goes to stderr (the log).
    events = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def emit(event) -> None:
        line = to_json_line(event) + "\n"
        with lock:
            events.write(line)
            events.flush()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    lower_priority(os.environ.get(NICE_VARIABLE))
    inbox = _Inbox(sys.stdin)
    signal.signal(signal.SIGTERM, lambda signum, frame: inbox.stop_everything())
    from engine.quiet import import_keras

    import_keras()
    from engine.callbacks import TrainControl

    while True:
        line = inbox.jobs.get()
        if line is None:
            break
        try:
            job = json.loads(line)
            if not isinstance(job, dict):
                raise ValueError("not an object")
        except ValueError:
            message = "The worker got a job it cannot read (a job is one JSON object)."
            emit(TrainEnd("failed", message, 0, 0.0, {}))
            emit(JobResult("failed", message))
            continue
        control = TrainControl()
        inbox.start(str(job.get("id")), control)
        try:
            outcome = run_job(job, emit, control)
        except Exception as error:  # never leave the parent without a result
            message = f"The worker failed: {type(error).__name__}: {error}."
            outcome = JobResult("failed", message, folder=str(job.get("out") or ""))
        inbox.done()
        emit(outcome)
    events.flush()
    sys.stderr.flush()
    os._exit(0)  # skip TensorFlow's slow teardown: everything is written and flushed


if __name__ == "__main__":
    sys.exit(main())
