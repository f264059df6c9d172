"""kill -9 during project saves: are the project and its ``~`` backup always whole?

A child process saves a large project over and over (alternating two versions); the bench
kills it with SIGKILL at a random moment, then checks that ``p.llproj`` and ``p.llproj~``
both parse as JSON, and counts the temporary files the killed saves left behind.

    python bench/bench_kill_save.py                 # 40 kills, 8 MB project
    python bench/bench_kill_save.py --rounds 200 --size-mb 14
    python bench/bench_kill_save.py --root /path/to/an/older/checkout   # compare

Prints one line per figure: damaged files, rounds, temporaries left, what the next save
removed (after they are older than the stale age; the bench ages them itself).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys, json
sys.path.insert(0, sys.argv[1])
from engine.project import save_project
project = json.loads(open(sys.argv[2]).read())
path = sys.argv[3]
print("ready", flush=True)
number = 0
while True:
    number += 1
    project["note"] = "version %d" % number
    save_project(project, path)
"""


def big_project(size_mb: float) -> dict:
    """A project-shaped dict (save_project does not validate) with many long histories."""
    project = {"format": "layerlab-project", "version": 1, "model": {"layers": []}}
    runs = []
    epochs = 500
    per_run = epochs * 4 * 20  # four curves of floats written as ~20 characters
    for number in range(max(1, int(size_mb * 2**20 / per_run))):
        history = {key: [random.random() for _ in range(epochs)] for key in "abcd"}
        runs.append({"id": f"run-{number}", "name": f"Run {number}", "history": history})
    project["runs"] = runs
    return project


def valid(path: Path) -> bool:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--size-mb", type=float, default=8.0)
    parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
    args = parser.parse_args()
    random.seed(1)
    folder = Path(tempfile.mkdtemp(prefix="layerlab-kill-save-"))
    source = folder / "source.json"
    source.write_text(json.dumps(big_project(args.size_mb)))
    target = folder / "p.llproj"
    damaged_target = damaged_backup = 0
    for _round in range(args.rounds):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, args.root, str(source), str(target)],
            stdout=subprocess.PIPE,
            text=True,
        )
        child.stdout.readline()
        time.sleep(random.uniform(0.2, 1.2))
        child.send_signal(signal.SIGKILL)
        child.wait()
        damaged_target += target.exists() and not valid(target)
        backup = target.with_name(target.name + "~")
        damaged_backup += backup.exists() and not valid(backup)
    size = target.stat().st_size / 2**20 if target.exists() else 0
    left = [p for p in folder.iterdir() if p.name.startswith(".p.llproj")]
    left_mb = sum(p.stat().st_size for p in left) / 2**20
    print(f"root                      {args.root}")
    print(f"project size              {size:.1f} MB, {args.rounds} kill -9 rounds")
    print(f"damaged p.llproj          {damaged_target}")
    print(f"damaged p.llproj~         {damaged_backup}")
    print(f"temporary files left      {len(left)} ({left_mb:.0f} MB)")
    old = time.time() - 3600
    for path in left:
        os.utime(path, (old, old))
    save = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); "
        "from engine.project import save_project; "
        "save_project(json.loads(open(sys.argv[2]).read()), sys.argv[3])"
    )
    subprocess.run([sys.executable, "-c", save, args.root, str(source), str(target)], check=True)
    still = [p for p in folder.iterdir() if p.name.startswith(".p.llproj")]
    print(f"left after the next save  {len(still)} (once older than the stale age)")


if __name__ == "__main__":
    main()
