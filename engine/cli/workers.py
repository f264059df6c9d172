"""Several training workers for ``python main.py train``: the options and the local launcher.

``worker_setting(args)`` turns ``--workers``/``--worker-index`` (or an existing ``TF_CONFIG``)
into the ``{"workers": [...], "index": I}`` setting of ``engine.distribution``.

``launch_local(args)`` is ``--local-workers N``: it picks N free ports on 127.0.0.1, starts N
``main.py train PROJECT --workers ... --worker-index I`` processes and waits for them. The
chief's (worker 0's) output is this command's output and its exit status this command's; the
others' output is kept and shown only when one fails. When a worker ends with a failure, the
others are given ``grace_seconds()`` to notice it themselves (the chief then records the run
as failed); any still running after that are ended, and a message names the worker. Imports
no TensorFlow: the parent process stays small.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.errors import LayerLabError

LOOPBACK = "127.0.0.1"
GRACE_ENV = "LAYERLAB_WORKER_GRACE"
DEFAULT_GRACE = 60.0  # the others notice a dead worker in ~10-20 s (heartbeats)


def check_worker_arguments(args: argparse.Namespace) -> None:
    """Refuse worker options that do not go together (bad input, exit status 2)."""
    workers = getattr(args, "workers", None)
    index = getattr(args, "worker_index", None)
    local = getattr(args, "local_workers", None)
    if local is not None:
        if workers is not None or index is not None:
            raise LayerLabError(
                "--local-workers starts its own workers: leave out --workers and --worker-index."
            )
        if local < 1:
            raise LayerLabError(f"--local-workers must be at least 1, got {local}.")
        if local > max(1, os.cpu_count() or 1) * 4:
            raise LayerLabError(
                f"--local-workers {local} is more than this machine can run "
                f"({os.cpu_count()} CPU cores).",
                fix="Start fewer workers.",
            )
    if index is not None and workers is None:
        raise LayerLabError("--worker-index needs --workers, the list of every worker.")
    if workers is not None and index is None:
        raise LayerLabError(
            "--workers needs --worker-index: this worker's position in the list (0 is the chief)."
        )


def worker_setting(args: argparse.Namespace) -> dict | None:
    """``{"workers": [...], "index": I}`` from the options or ``TF_CONFIG``; None for a
    run in this process alone."""
    from engine.distribution import check_devices, parse_workers, tf_config_setting

    if getattr(args, "workers", None) is None:
        return tf_config_setting()
    workers = parse_workers(args.workers)
    index = args.worker_index
    if not 0 <= index < len(workers):
        raise LayerLabError(
            f"--worker-index must be from 0 to {len(workers) - 1} (the position in --workers), "
            f"got {index}."
        )
    return check_devices({"workers": workers, "index": index}, field="--workers")


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """``count`` distinct ports free on ``host`` now (the system picks them)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def grace_seconds() -> float:
    """How long the other workers get to notice a failed worker before they are ended."""
    from engine.distribution import collective_timeout

    text = os.environ.get(GRACE_ENV, "").strip()
    with contextlib.suppress(ValueError):
        if text and float(text) > 0:
            return float(text)
    timeout = collective_timeout()
    return DEFAULT_GRACE if timeout is None else max(DEFAULT_GRACE, timeout + 15.0)


def worker_command(args: argparse.Namespace, workers: list[str], index: int) -> list[str]:
    """The ``main.py train`` command line of worker ``index``."""
    main = Path(__file__).resolve().parents[2] / "main.py"
    command = [sys.executable, str(main), "train", str(Path(args.project).resolve())]
    command += ["--workers", ",".join(workers), "--worker-index", str(index)]
    if args.epochs is not None:
        command += ["--epochs", str(args.epochs)]
    if index == 0:
        if args.out:
            command += ["--out", str(Path(args.out).resolve())]
        if not args.record:
            command.append("--no-record")
        if args.name is not None:
            command += ["--name", args.name]
    else:
        command.append("--no-record")
    return command


def launch_local(args: argparse.Namespace, *, out=None, err=None) -> int:
    """Run ``args.local_workers`` workers on this machine and return the chief's exit status
    (see the module docstring)."""
    out = out or sys.stdout
    err = err or sys.stderr
    count = args.local_workers
    if not Path(args.project).is_file():
        raise LayerLabError(f"The project {args.project} does not exist.")
    workers = [f"{LOOPBACK}:{port}" for port in free_ports(count)]
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    env.setdefault("PYTHONUNBUFFERED", "1")
    print(
        f"Starting {count} worker{'s' if count != 1 else ''} on {LOOPBACK} "
        f"({', '.join(workers)}); worker 0, the chief, writes the results.",
        file=out,
        flush=True,
    )
    logs = []
    processes: list[subprocess.Popen] = []
    with contextlib.ExitStack() as stack:
        for index in range(count):
            if index == 0:
                stdout, stderr = None, None  # the chief talks to this terminal
            else:
                log = stack.enter_context(
                    tempfile.TemporaryFile(mode="w+", prefix="layerlab-worker-")
                )
                logs.append(log)
                stdout, stderr = subprocess.DEVNULL, log
            processes.append(
                subprocess.Popen(
                    worker_command(args, workers, index), env=env, stdout=stdout, stderr=stderr
                )
            )
        try:
            codes, ended = _wait(processes)
        except KeyboardInterrupt:
            # Every worker got the Ctrl-C too; give them a moment, then end them.
            _end(processes, grace=10.0)
            print("layerlab train: stopped with Ctrl-C.", file=err, flush=True)
            return 130
        failed = [
            index
            for index, code in enumerate(codes)
            if index > 0 and code not in (0, None) and index not in ended
        ]
        for index in failed:
            logs[index - 1].seek(0)
            last = _last_line(logs[index - 1].read())
            said = f": {last}" if last else ""
            print(
                f"layerlab train: worker {index} ({workers[index]}) ended with exit status "
                f"{codes[index]}{said}",
                file=err,
                flush=True,
            )
    if 0 in ended:
        culprit = failed[0] if failed else None
        who = f"worker {culprit} ({workers[culprit]})" if culprit is not None else "a worker"
        print(
            f"layerlab train: {who} failed and the chief did not finish within "
            f"{grace_seconds():.0f} s, so it was ended; nothing was recorded. Start the run again.",
            file=err,
            flush=True,
        )
        return 1
    return codes[0]


def _wait(processes: list[subprocess.Popen]) -> tuple[list[int | None], set[int]]:
    """Wait for every worker; after the first failure (or the chief's end) the others get
    ``grace_seconds()``, then are ended. Returns the exit codes and who was ended."""
    grace = grace_seconds()
    deadline = None
    while True:
        codes = [process.poll() for process in processes]
        if all(code is not None for code in codes):
            return codes, set()
        if deadline is None and (
            codes[0] is not None or any(code not in (None, 0) for code in codes)
        ):
            deadline = time.monotonic() + grace
        if deadline is not None and time.monotonic() > deadline:
            ended = {index for index, code in enumerate(codes) if code is None}
            _end([processes[index] for index in ended], grace=0.0)
            return [process.poll() for process in processes], ended
        time.sleep(0.1)


def _end(processes: list[subprocess.Popen], grace: float) -> None:
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
