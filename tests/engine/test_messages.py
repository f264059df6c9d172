"""Every message a user can cause is a sentence: it starts with a capital letter (issue 9, item 9).

Each test enumerates cheap bad inputs for one part of the engine, collects the messages of the
``LayerLabError``s (and analysis errors) they give, and asserts each starts with a capital
letter (or a digit, a quote or a path) and ends with a full stop.
"""

from __future__ import annotations

import copy

import keras

from engine import compiling
from engine import spec as S
from engine.datasets.options import resolve_block
from engine.datasets.probe import input_signature
from engine.errors import LayerLabError
from engine.model_import import project_spec
from engine.project import new_project, validate_project


def _sentence_problems(messages: list[str]) -> list[str]:
    bad = []
    for message in messages:
        first = message[:1]
        if (
            not message
            or not (first.isupper() or first.isdigit() or first in "'\"/~")
            or not message.rstrip().endswith((".", "?", ")", "!"))
        ):
            bad.append(message)
    return bad


def _raised(calls) -> list[str]:
    messages = []
    for call in calls:
        try:
            call()
        except LayerLabError as error:
            messages.append(str(error))
        else:
            raise AssertionError(f"{call} did not raise")
    return messages


def _dense_stack():
    spec = S.new_spec((4,))
    spec = S.insert_layer(spec, 0, "Dense")
    return S.insert_layer(spec, 1, "Dense")


def test_spec_edit_and_validation_messages():
    spec = _dense_stack()
    calls = [
        lambda: S.insert_layer(spec, 9, "Dense"),
        lambda: S.insert_layer(spec, 0, "NoSuchLayer"),
        lambda: S.insert_layer(spec, 0, "InputLayer"),
        lambda: S.insert_layer(spec, 0, {"class_name": "Dense"}),
        lambda: S.remove_layer(spec, -1),
        lambda: S.set_param(spec, 0, "units", -3),
        lambda: S.set_param(spec, 0, "activation", "nope"),
        lambda: S.set_param(spec, 0, "nope", 1),
        lambda: S.set_param(spec, 0, "name", "dense_1"),
        lambda: S.set_param(spec, 0, "name", "a b"),
        lambda: S.set_input_shape(spec, (0,)),
        lambda: S.validate_spec({"layers": "x"}),
        lambda: S.validate_spec({"layers": [3]}),
        lambda: S.validate_spec({"layers": [{"class_name": "Lambda", "config": {}}]}),
        lambda: S.validate_spec(
            {"layers": [{"class_name": "Dense", "config": {"units": 0, "name": "d"}}]}
        ),
        lambda: S.validate_spec({"layers": [*S.body(spec), *S.body(spec)]}),
        lambda: S.build_model(S.insert_layer(spec, 2, "Conv2D")),
        lambda: S.spec_from_model(keras.Model(i := keras.Input((2,)), keras.layers.Dense(1)(i))),
    ]
    assert _sentence_problems(_raised(calls)) == []


def test_analysis_messages():
    def stack(shape, *layers):
        spec = S.new_spec(shape)
        for i, (name, params) in enumerate(layers):
            spec = S.insert_layer(spec, i, name)
            for key, value in params.items():
                spec = S.set_param(spec, i, key, value)
        return spec

    cases = [
        (stack((8,), ("Conv2D", {})), None),
        (stack((8,), ("LSTM", {})), None),
        (stack((4, 4, 1), ("Dense", {}), ("Conv1D", {})), None),
        (stack((6,), ("Reshape", {"target_shape": [4]})), None),
        (stack((2, 3), ("Permute", {"dims": [1, 2, 3]})), None),
        (stack((3, 3, 1), ("MaxPooling2D", {"pool_size": [5, 5]})), None),
        (stack((40, 1), ("Dense", {"units": 1})), ()),
        (stack((5,), ("Dense", {"units": 2})), (3,)),
        ({"layers": [{"class_name": "Dense", "config": {}}]}, None),
        ({"layers": [{"class_name": "Dense", "config": {"units": "x"}}]}, None),
        ({"layers": []}, None),
        ("nonsense", None),
        (S.new_spec(), None),
    ]
    messages = []
    for spec, target in cases:
        analysis = S.analyse(spec, None, target)
        assert analysis.error, spec
        messages.append(analysis.error)
    assert _sentence_problems(messages) == []


def test_compile_setting_messages():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    calls = [
        lambda: compiling.make_optimizer("adamm"),
        lambda: compiling.make_optimizer(3),
        lambda: compiling.make_optimizer({"class_name": "Adam", "config": 3}),
        lambda: compiling.make_optimizer({"class_name": "Adam", "config": {"nope": 1}}),
        lambda: compiling.make_optimizer({"class_name": "Dense", "config": {}}),
        lambda: compiling.resolve_loss("mean_squared_eror"),
        lambda: compiling.resolve_loss(3),
        lambda: compiling.resolve_loss({"class_name": "MeanSquaredError", "config": {"x": 1}}),
        lambda: compiling.resolve_metrics("accuracy"),
        lambda: compiling.resolve_metrics(["acurracy"]),
        lambda: compiling.resolve_metrics([3]),
        lambda: compiling.resolve_metrics([{"class_name": "Accuracy", "config": {"x": 1}}]),
        lambda: compiling.compile_model(model, "adam"),
        lambda: compiling.compile_model(model, {"optimizer": "adam"}),
    ]
    assert _sentence_problems(_raised(calls)) == []


def test_dataset_setting_and_probe_messages(tmp_path):
    blocks = [
        "x",
        {},
        {"source": "nowhere"},
        {"source": "keras", "name": "nope"},
        {"source": "sample", "name": "digits", "nope": 1},
        {"source": "sample", "name": "digits", "test_split": 2.0},
        {"source": "sample", "name": "digits", "seed": "x"},
        {"source": "csv", "path": "a.csv"},
        {"source": "image_folder", "path": str(tmp_path), "image_size": [0, 3]},
        {"source": "timeseries", "path": "a.csv", "target": "t", "split": [0.5, 0.5, 0.5]},
    ]
    messages = _raised([lambda b=b: resolve_block(b) for b in blocks])
    csv = tmp_path / "t.csv"
    csv.write_text("a,b\n1,2\n")
    for block in [
        *blocks,
        {"source": "csv", "path": str(csv), "target": "c"},
        {"source": "csv", "path": str(tmp_path / "none.csv"), "target": "a"},
        {"source": "npz", "path": str(csv)},
        {"source": "image_folder", "path": str(tmp_path / "none")},
        {"source": "text_folder", "path": str(csv)},
        {"source": "keras", "name": "imdb", "num_words": 0},
    ]:
        probe = input_signature(block)
        assert probe.input_shape is None
        messages.append(probe.reason)
    assert _sentence_problems(messages) == []


def test_model_import_messages():
    """Branched models now open read-only (issue 11); a model without a config LayerLab can
    read (a subclassed model) is still refused with a plain sentence."""

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    i = keras.Input((2,))
    assert "input_layers" in project_spec(keras.Model(i, keras.layers.Add()([i, i])), "m.keras")
    calls = [lambda: project_spec(Subclassed(), "m.keras")]
    assert _sentence_problems(_raised(calls)) == []


def _project_calls():
    def bad(section, key, value):
        project = new_project()
        project[section][key] = value
        return lambda: validate_project(project)

    broken_model = copy.deepcopy(new_project())
    broken_model["model"] = {"layers": 3}
    return [
        lambda: validate_project(3),
        lambda: validate_project(broken_model),
        bad("compile", "loss", "mean_squared_eror"),
        bad("compile", "optimizer", "adamm"),
        bad("compile", "metrics", ["accuracy", "acurracy"]),
        bad("fit", "epochs", 0),
        bad("fit", "shuffle", "yes"),
        bad("dataset", "source", ""),
    ]


def test_project_validation_messages():
    assert _sentence_problems(_raised(_project_calls())) == []
