"""How long ``engine.spec.analyse`` takes on a 50-layer stack, cold and after one edit.

Run: ``.venv/bin/python bench/bench_analyse.py``. Prints medians (ms) over repeats for:
a cold analysis (empty cache), an edit that keeps every shape (an activation deep in the
stack), an edit that changes the shapes after it (the first layer's units), inserting a layer
at the top, a new input shape, and the memory grown over many such edits. A cold analysis
computes every layer, so it bounds any single edit; a second, sequence-model stack (Conv1D,
LSTM, GRU, Bidirectional: the slowest layers to build) shows the cold cost there.
The target (issue 2) is ≤ 100 ms after one edit; issue 14 adds the per-layer cost
(``engine.cost.model_cost``) to that budget: an edit + analyse + cost line, and the cost alone.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.quiet import import_keras

import_keras()

from engine import cost as C  # noqa: E402
from engine import spec as S  # noqa: E402

PATTERN = [("Dense", {"units": 64, "activation": "relu"}), ("BatchNormalization", {})]
PATTERN += [("Dropout", {"rate": 0.2}), ("Dense", {"units": 32, "activation": "tanh"})]
PATTERN += [("LayerNormalization", {})]


SEQUENCE = [("Conv1D", {"filters": 32, "padding": "same"}), ("BatchNormalization", {})]
SEQUENCE += [("LSTM", {"units": 32, "return_sequences": True}), ("Dropout", {"rate": 0.1})]
SEQUENCE += [("GRU", {"units": 32, "return_sequences": True})]


def fifty_layers(pattern=PATTERN, shape=(128,), distinct=False) -> dict:
    spec = S.new_spec(shape)
    for i in range(50):
        class_name, params = pattern[i % len(pattern)]
        spec = S.insert_layer(spec, i, class_name)
        for name, value in params.items():
            if distinct and name in ("units", "filters"):
                value += i  # no two layers alike: nothing is shared through the cache
            spec = S.set_param(spec, i, name, value)
    return spec


def timed(fn, repeats: int) -> str:
    """Median and best of ``repeats`` runs, in ms (the best is the least disturbed by load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return f"{statistics.median(times):7.1f} ms (best {min(times):6.1f})"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    spec = fifty_layers(distinct=True)
    analysis = S.analyse(spec)
    assert analysis.ok and len(analysis.layers) == 50, analysis.error
    print(f"50-layer stack: {analysis.total_params:,} params")

    def cold():
        S._CACHE.clear()
        S.analyse(spec)

    print(f"cold (empty cache):                 {timed(cold, 5)}")
    S.analyse(spec)

    counter = iter(range(10**9))
    activations = ["relu", "elu", "selu", "gelu", "swish"]

    def edit_keeping_shapes():
        choice = activations[next(counter) % len(activations)]
        S.analyse(S.set_param(spec, 45, "activation", choice))

    def edit_changing_next_shapes():
        S.analyse(S.set_param(spec, 0, "units", 16 + next(counter) % 200))

    def new_input_shape():
        S.analyse(S.set_input_shape(spec, (16 + next(counter) % 500,)))

    def insert_at_top():
        S.analyse(S.insert_layer(spec, 0, "Dense"))

    def analyse_only():
        S.analyse(spec)

    print(f"re-analyse, nothing changed:        {timed(analyse_only, 20)}")
    print(f"edit + analyse, shapes unchanged:   {timed(edit_keeping_shapes, 20)}")
    print(f"edit + analyse, next shapes change: {timed(edit_changing_next_shapes, 10)}")
    print(f"insert at top + analyse:            {timed(insert_at_top, 10)}")
    print(f"new input shape + analyse:          {timed(new_input_shape, 10)}")

    def edit_analyse_and_cost():
        edited = S.set_param(spec, 0, "units", 16 + next(counter) % 200)
        C.model_cost(edited, S.analyse(edited))

    print(f"edit + analyse + cost (issue 14):   {timed(edit_analyse_and_cost, 10)}")
    print(f"cost alone (50 layers):             {timed(lambda: C.model_cost(spec, analysis), 50)}")

    before = rss_mib()
    for _ in range(300):
        new_input_shape()
    print(f"peak RSS over 300 new input shapes: {before:.0f} -> {rss_mib():.0f} MiB")
    print(f"cache entries: {len(S._CACHE)} (bounded at {S._CACHE_SIZE})")

    sequence = fifty_layers(SEQUENCE, (100, 8), distinct=True)
    assert S.analyse(sequence).ok

    def sequence_cold():
        S._CACHE.clear()
        S.analyse(sequence)

    print(f"sequence stack (20 LSTM/GRU), cold: {timed(sequence_cold, 5)}")


if __name__ == "__main__":
    main()
