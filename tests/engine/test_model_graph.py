"""The layer graph of a model, laid out top to bottom (issue 11, functional models)."""

from __future__ import annotations

import json
import time

import keras
import pytest

from engine import catalog as cat
from engine import spec as S
from engine.model_graph import crossings, graph_of, layout

L = keras.layers


def config_of(model: keras.Model) -> dict:
    return json.loads(json.dumps(cat.to_json(model.get_config())))


def goes_down(graph) -> bool:
    return all(graph.node(a).row < graph.node(b).row for a, b in graph.edge_pairs() if a != b)


def test_a_branch_and_merge():
    inputs = keras.Input((8,), name="x")
    a = L.Dense(4, name="left")(inputs)
    b = L.Dense(6, name="right")(inputs)
    b = L.Dense(4, name="right_2")(b)
    merged = L.Add(name="add")([a, b])
    cat_ = L.Concatenate(name="cat")([merged, a])
    model = keras.Model(inputs, L.Dense(2, name="out")(cat_))
    graph = graph_of(config_of(model))
    assert graph.functional and graph.error is None
    assert {n.name for n in graph.nodes} == {"x", "left", "right", "right_2", "add", "cat", "out"}
    assert set(graph.edge_pairs()) == {
        ("x", "left"),
        ("x", "right"),
        ("right", "right_2"),
        ("left", "add"),
        ("right_2", "add"),
        ("add", "cat"),
        ("left", "cat"),
        ("cat", "out"),
    }
    assert goes_down(graph)
    assert graph.node("x").row == 0 and graph.node("x").is_input
    assert graph.node("out").is_output and not graph.node("add").is_output
    # The long branch pushes the merge down; the short edge left → add gets a waypoint.
    assert graph.node("add").row == 3
    left_add = next(e for e in graph.edges if (e.src, e.dst) == ("left", "add"))
    assert [r for r, _x in left_add.waypoints] == [2]
    # Branches sit side by side.
    assert graph.node("left").row == graph.node("right").row
    assert graph.node("left").column != graph.node("right").column
    assert graph.node("right_2").output_shape == "(None, 4)"
    assert graph.node("right").params == 8 * 6 + 6
    assert graph.node("cat").output_shape == "(None, 8)"
    assert graph.total_params == model.count_params()
    assert crossings(graph) == 0


def test_two_inputs_two_outputs():
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    joined = L.Concatenate(name="join")([a, b])
    model = keras.Model([a, b], [L.Dense(1, name="o1")(joined), L.Dense(2, name="o2")(joined)])
    graph = graph_of(config_of(model))
    assert [n.name for n in graph.nodes if n.is_input] == ["a", "b"]
    assert {n.name for n in graph.nodes if n.is_output} == {"o1", "o2"}
    assert graph.node("a").row == graph.node("b").row == 0
    assert graph.node("o1").row == graph.node("o2").row == 2
    assert graph.node("join").output_shape == "(None, 5)"
    assert goes_down(graph)


def test_a_shared_layer_is_one_node_with_all_its_calls():
    x, y = keras.Input((8,), name="x"), keras.Input((8,), name="y")
    shared = L.Dense(4, name="shared")
    model = keras.Model([x, y], L.Concatenate(name="cat")([shared(x), shared(y)]))
    graph = graph_of(config_of(model))
    node = graph.node("shared")
    assert node.calls == 2 and node.params == 36
    assert node.output_shape == "(None, 4)"
    assert {("x", "shared"), ("y", "shared"), ("shared", "cat")} == set(graph.edge_pairs())
    assert goes_down(graph)


def test_a_layer_fed_its_own_output_does_not_break_the_layout():
    d = keras.Input((2,), name="d")
    shared = L.Dense(2, name="shared")
    graph = graph_of(config_of(keras.Model(d, shared(shared(d)))))
    assert ("shared", "shared") in graph.edge_pairs()
    assert graph.node("d").row == 0 and graph.node("shared").row == 1


def test_a_model_inside_the_model_is_one_node():
    e = keras.Input((2,), name="e")
    inner = keras.Sequential([L.Dense(3), L.Dense(5)], name="inner")
    model = keras.Model(e, L.Add(name="add")([inner(e), L.Dense(5, name="side")(e)]))
    graph = graph_of(config_of(model))
    node = graph.node("inner")
    assert node.class_name == "Sequential"
    assert node.params == (2 * 3 + 3) + (3 * 5 + 5)
    assert node.output_shape == "(None, 5)"
    assert "dense" not in {n.name for n in graph.nodes}


def test_a_sequential_spec_is_a_chain_from_its_input():
    spec = S.new_spec((10,))
    spec = S.insert_layer(spec, 0, "Dense")
    spec = S.insert_layer(spec, 1, "Dropout")
    graph = graph_of(spec)
    assert not graph.functional
    assert [n.class_name for n in graph.nodes] == ["InputLayer", "Dense", "Dropout"]
    assert [n.row for n in graph.nodes] == [0, 1, 2]
    assert graph.nodes[0].output_shape == "(None, 10)"
    assert graph.nodes[0].is_input and graph.nodes[-1].is_output
    # The dataset's shape wins, as in training.
    assert graph_of(spec, input_shape=(4,)).nodes[0].output_shape == "(None, 4)"


def test_a_spec_that_does_not_build_still_draws():
    spec = S.new_spec((10,))
    spec = S.insert_layer(spec, 0, "Conv2D")
    graph = graph_of(spec)
    assert graph.error and len(graph.nodes) == 2
    assert graph.nodes[1].output_shape == ""


def resnet_config(blocks: int) -> dict:
    x = inputs = keras.Input((16,), name="in")
    x = L.Dense(16, name="stem")(x)
    for i in range(blocks):
        y = L.Dense(16, name=f"b{i}_a")(x)
        y = L.BatchNormalization(name=f"b{i}_bn")(y)
        y = L.Dense(16, name=f"b{i}_b")(y)
        x = L.Add(name=f"b{i}_add")([x, y])
        x = L.Activation("relu", name=f"b{i}_relu")(x)
    return config_of(keras.Model(inputs, L.Dense(2, name="head")(x)))


def test_a_hundred_layer_resnet_lays_out_fast_and_cleanly():
    spec = resnet_config(20)  # 2 + 20 × 5 + 1 = 103 layers
    graph = graph_of(spec)
    assert len(graph.nodes) == 103 and graph.error is None
    assert goes_down(graph)
    assert crossings(graph) == 0
    # The main path stays straight: every block's Add sits in the same column as the stem.
    assert {graph.node(f"b{i}_add").column for i in range(20)} == {graph.node("stem").column}
    names = [n.name for n in graph.nodes]
    started = time.perf_counter()
    layout(names, graph.edge_pairs())
    elapsed = time.perf_counter() - started
    assert elapsed < 0.2, f"layout took {elapsed * 1000:.0f} ms"


@pytest.mark.parametrize("spec", [{}, {"layers": "x"}, {"input_layers": [], "layers": []}])
def test_broken_specs_give_an_error_not_an_exception(spec):
    graph = graph_of(spec)
    assert graph.error


def test_a_keras_2_config_is_read_too():
    """Keras 2 wrote inbound nodes as [[name, node, tensor, kwargs], ...] lists."""

    def layer(class_name, name, sources, **config):
        nodes = [[[source, 0, 0, {}] for source in sources]] if sources else []
        return {
            "class_name": class_name,
            "name": name,
            "config": {"name": name, **config},
            "inbound_nodes": nodes,
        }

    spec = {
        "name": "model",
        "layers": [
            layer("InputLayer", "input_1", [], batch_input_shape=[None, 4], dtype="float32"),
            layer("Dense", "dense", ["input_1"], units=3),
            layer("Dense", "dense_1", ["input_1"], units=3),
            layer("Add", "add", ["dense", "dense_1"]),
        ],
        "input_layers": [["input_1", 0, 0]],
        "output_layers": [["add", 0, 0]],
    }
    graph = graph_of(spec)
    assert set(graph.edge_pairs()) == {
        ("input_1", "dense"),
        ("input_1", "dense_1"),
        ("dense", "add"),
        ("dense_1", "add"),
    }
    assert graph.node("add").row == 2 and graph.node("add").is_output
    assert goes_down(graph)


def test_a_functional_model_inside_the_model_is_one_node():
    i = keras.Input((4,), name="i")
    inner = keras.Model(i, L.Dense(2, name="d")(i), name="inner_f")
    j = keras.Input((4,), name="j")
    model = keras.Model(j, L.Add(name="add")([inner(j), L.Dense(2, name="side")(j)]))
    graph = graph_of(config_of(model))
    assert graph.node("inner_f").class_name == "Functional"
    assert graph.node("inner_f").params == 10
    assert graph.total_params == model.count_params()


def test_a_merge_draws_its_inputs_in_argument_order():
    x = keras.Input((16, 16, 8), name="in")
    branches = [
        L.Conv2D(4, 1, name="b1")(x),
        L.Conv2D(4, 3, padding="same", name="b2b")(L.Conv2D(4, 1, name="b2a")(x)),
        L.Conv2D(4, 5, padding="same", name="b3b")(L.Conv2D(4, 1, name="b3a")(x)),
        L.Conv2D(4, 1, name="b4b")(L.MaxPooling2D(3, 1, padding="same", name="b4a")(x)),
    ]
    model = keras.Model(x, L.Concatenate(name="mix")(branches))
    graph = graph_of(config_of(model))
    columns = [graph.node(name).column for name in ("b1", "b2a", "b3a", "b4a")]
    assert columns == sorted(columns)
    assert crossings(graph) == 0
