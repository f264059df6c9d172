"""Optuna search over worker processes: trials become runs, resume, pruning, crashes, stop."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import optuna
import pytest

import main
from engine.events import EpochEnd
from engine.search import best_params_applied, counts_text, load_study, run_search
from engine.worker_protocol import JobStarted, SearchFinished, TrialFinished
from tests.search.support import SPACE, read, write_project

EPOCHS = 1


class Recorder:
    def __init__(self):
        self.items = []

    def __call__(self, job_id, event):
        self.items.append((job_id, event))

    def of(self, cls, job_id=None):
        return [e for j, e in self.items if isinstance(e, cls) and job_id in (None, j)]


class AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return True


def test_search_records_trials_as_runs_and_resumes_from_the_cli(tmp_path, capsys, pool):
    path = write_project(tmp_path, search={"space": SPACE})
    events = Recorder()
    result = run_search(path, 2, 1, sink=events, epochs=EPOCHS, seed=1, pool=pool)
    finished = events.of(TrialFinished)
    assert [t.number for t in finished] == [0, 1]
    assert all(t.state == "COMPLETE" and len(t.values) == 1 for t in finished)
    assert events.items[-1] == (
        "search",
        SearchFinished(stopped=False, trials_done=2, message="2 trials finished"),
    )
    assert (tmp_path / "tiny.optuna.db").is_file()
    runs = read(path)["runs"]
    assert [run["name"] for run in runs] == ["Trial 0", "Trial 1"]
    for run, trial in zip(runs, finished, strict=True):
        assert run["params"] == trial.params and set(run["params"]) == {e["path"] for e in SPACE}
        assert run["trial"] == {"study": "tiny", "number": trial.number, "state": "COMPLETE"}
        assert run["id"] == trial.run_id
        assert trial.run == run  # the event carries the run as written (views need no read)
        assert (tmp_path / run["weights"]).is_file()
        # the hyperparameters really were trained: the snapshot holds them
        assert run["snapshot"]["fit"]["batch_size"] == run["params"]["fit.batch_size"]
    assert result.best[0]["values"][0] == min(t.values[0] for t in finished)
    assert set(result.importance) <= {e["path"] for e in SPACE}
    applied = best_params_applied(read(path), result)
    assert applied["fit"]["batch_size"] == result.best[0]["params"]["fit.batch_size"]

    # Resume: the same study gets a third trial, from the command line.
    code = main.main(["search", str(path), "--trials", "1", "--workers", "1", "--epochs", "1"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Trial 2 completed: " in out and "Best: trial " in out
    assert "Study 'tiny': 3 completed, 0 pruned, 0 failed" in out
    assert len(load_study(path).trials) == 3
    assert [run["name"] for run in read(path)["runs"]] == ["Trial 0", "Trial 1", "Trial 2"]


def test_a_pruned_trial_is_stopped_in_its_worker(tmp_path, pool):
    path = write_project(tmp_path, search={"space": SPACE[:1]})
    result = run_search(path, 1, 1, epochs=6, pruner=AlwaysPrune(), pool=pool)
    (trial,) = result.trials
    assert trial.state == "PRUNED" and trial.values is None
    (run,) = read(path)["runs"]
    assert run["status"] == "stopped" and run["epochs_completed"] < 6
    assert run["trial"]["state"] == "PRUNED"
    assert result.counts == {"COMPLETE": 0, "PRUNED": 1, "STOPPED": 0, "FAIL": 0}


def test_a_crashed_trial_fails_and_the_search_goes_on(tmp_path):
    """The first trial's worker dies mid-run (exit status 3, no result): that trial fails
    with the worker's last words, and the next trials still run, in a fresh worker."""
    search = {
        "space": SPACE[:1],
        "objective": [{"metric": "val_loss"}, {"metric": "parameter_count"}],
    }
    path = write_project(tmp_path, search=search)
    events = Recorder()
    fake = [sys.executable, str(Path(__file__).with_name("fake_worker.py"))]
    result = run_search(
        path, 3, 1, sink=events, pool_options={"command": fake, "stop_grace": 10}, seed=3
    )
    first, *others = result.trials
    assert first.state == "FAIL" and first.run_id is None
    assert first.message.startswith(
        "The worker process for trial 0 ended unexpectedly (exit code 3) before it finished. "
        "Its last output: RuntimeError: the fake worker fell over"
    )
    assert [t.state for t in others] == ["COMPLETE", "COMPLETE"]
    pids = {e.pid for e in events.of(JobStarted)}
    assert len(pids) == 2  # trial 0's worker died; one fresh worker ran the others
    for trial in others:
        units = trial.params["model.layers[1].config.units"]
        assert trial.values == pytest.approx((0.1 * units, 100 * units))
    # the Pareto front of (val_loss, parameter count) when both grow with the units
    front = [b["number"] for b in result.best]
    smallest = min(others, key=lambda t: t.values[1])
    assert smallest.number in front
    assert [run["name"] for run in read(path)["runs"]] == [f"Trial {t.number}" for t in others]
    study = load_study(path)
    assert study.trials[0].user_attrs["message"] == first.message


def test_stop_ends_the_search_cleanly_and_it_stays_resumable(tmp_path, pool):
    path = write_project(tmp_path, search={"space": SPACE[:1]})
    stop = threading.Event()
    events = Recorder()

    def sink(job_id, event):
        events(job_id, event)
        if isinstance(event, EpochEnd):
            stop.set()

    result = run_search(path, 3, 1, sink=sink, stop=stop, epochs=30, pool=pool)
    assert result.stopped
    (trial,) = result.trials
    assert trial.state == "FAIL" and trial.message == "Stopped by the user before it finished."
    states = [t.state.name for t in load_study(path).trials]
    assert states == ["FAIL"]  # nothing left RUNNING
    assert events.items[-1][1].stopped
    # counted as stopped, not failed (found under Xvfb: "Study: 5 completed, 1 pruned,
    # 2 failed" after the user pressed Stop)
    assert result.counts == {"COMPLETE": 0, "PRUNED": 0, "STOPPED": 1, "FAIL": 0}
    assert counts_text(result.counts) == "0 completed, 0 pruned, 1 stopped, 0 failed"


def _cli(capsys, *args):
    code = main.main(["search", *map(str, args)])
    return code, capsys.readouterr().err


def test_cli_bad_input_is_exit_2_with_a_plain_line(tmp_path, capsys):
    plain = write_project(tmp_path, name="plain")
    code, err = _cli(capsys, plain, "--trials", "2")
    assert code == 2 and "layerlab search: plain.llproj has no search space." in err
    path = write_project(tmp_path, search={"space": SPACE})
    code, err = _cli(capsys, path, "--trials", "1", "--storage", "not a url")
    assert code == 2 and "The study storage 'not a url' is not a database URL." in err
    code, err = _cli(capsys, path, "--trials", "1", "--storage", "nosuchdb://x/y")
    assert code == 2 and "Cannot open the study storage nosuchdb://x/y" in err
    code, err = _cli(capsys, path, "--trials", "0")
    assert code == 2 and "--trials must be at least 1, got 0." in err
    bad = write_project(tmp_path, name="bad", search={"space": [dict(SPACE[0], path="fit.x.y")]})
    code, err = _cli(capsys, bad, "--trials", "1")
    assert code == 2 and "The search setting fit.x.y does not exist in the project" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("trials", [0, -1, True])
def test_bad_trial_counts(tmp_path, trials):
    from engine.search import SearchError

    path = write_project(tmp_path, search={"space": SPACE})
    with pytest.raises(SearchError, match="trials must be 1 or more"):
        run_search(path, trials)


def test_a_sink_that_raises_leaves_no_trial_running(tmp_path):
    path = write_project(tmp_path, search={"space": SPACE[:1]})
    fake = [sys.executable, str(Path(__file__).with_name("fake_worker.py"))]

    def sink(job_id, event):
        if isinstance(event, EpochEnd):
            raise RuntimeError("the window went away")

    with pytest.raises(RuntimeError, match="the window went away"):
        run_search(path, 2, 1, sink=sink, pool_options={"command": fake, "stop_grace": 10})
    assert [t.state.name for t in load_study(path).trials] == ["FAIL"]
