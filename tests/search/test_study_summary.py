"""A search run earlier (another session, the CLI) is read back for the window's views:
counts, the best trial and importances, without running a trial or creating a study."""

from __future__ import annotations

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from engine.search import SearchError, default_storage, study_summary
from tests.search.support import SPACE, write_project

DISTRIBUTIONS = {
    SPACE[0]["path"]: IntDistribution(4, 16, log=True),
    SPACE[1]["path"]: FloatDistribution(1e-3, 1e-2, log=True),
    SPACE[2]["path"]: CategoricalDistribution([64, 128]),
}


def make_study(path, values):
    study = optuna.create_study(storage=default_storage(path), study_name=path.stem)
    for number, value in enumerate(values):
        params = {
            SPACE[0]["path"]: 4 + 4 * number,
            SPACE[1]["path"]: 0.001 * (number + 1),
            SPACE[2]["path"]: 64 if number % 2 else 128,
        }
        state = TrialState.COMPLETE if value is not None else TrialState.PRUNED
        study.add_trial(
            create_trial(params=params, distributions=DISTRIBUTIONS, value=value, state=state)
        )
    return study


def test_an_earlier_study_is_summarised(tmp_path):
    path = write_project(tmp_path, search={"space": SPACE[:3]})
    make_study(path, [0.9, 0.4, 0.7, None])
    result = study_summary(path)
    assert result.counts == {"COMPLETE": 3, "PRUNED": 1, "STOPPED": 0, "FAIL": 0}
    assert result.best[0]["number"] == 1 and result.best[0]["values"] == [0.4]
    assert result.importance and set(result.importance) <= {e["path"] for e in SPACE[:3]}


def test_no_study_yet_is_a_plain_error_and_creates_nothing(tmp_path):
    path = write_project(tmp_path, search={"space": SPACE[:3]})
    with pytest.raises(SearchError, match=r"There is no search study for tiny\.llproj yet"):
        study_summary(path)
    assert not (tmp_path / "tiny.optuna.db").exists()
