"""Random stacks either analyse cleanly (and then match Keras) or name the failing layer."""

from __future__ import annotations

import itertools

import keras
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import catalog as cat
from engine import spec as S
from engine.errors import SpecError

LAYERS = [name for name in cat.catalog() if name != "InputLayer"]
SKIP_KINDS = {"initializer", "regularizer", "constraint", "dtype", "float_tuple", "str"}
SKIP_PARAMS = {"seed", "noise_shape", "padding_dims", "cropping", "trainable", "axis"}


@st.composite
def param_values(draw, info: cat.LayerInfo) -> dict:
    """Random valid values for a few of the layer's basic parameters."""
    chosen = {}
    for p in info.params:
        if (p.advanced and p.kind != "bool") or p.kind in SKIP_KINDS or p.name in SKIP_PARAMS:
            continue
        if not draw(st.booleans()):
            continue
        if p.kind == "int":
            low = int(p.minimum) if p.minimum is not None else 1
            chosen[p.name] = draw(st.integers(low, low + 6))
        elif p.kind == "float":
            low = p.minimum if p.minimum is not None else 0.0
            high = p.maximum if p.maximum is not None else low + 2.0
            chosen[p.name] = draw(st.floats(low, high, allow_nan=False))
        elif p.kind == "bool":
            chosen[p.name] = draw(st.booleans())
        elif p.kind in ("choice", "activation", "layer"):
            chosen[p.name] = draw(st.sampled_from(p.choices))  # a layer: its class name
        elif p.kind == "int_tuple" and isinstance(p.default, list) and p.name != "padding":
            low = int(p.minimum) if p.minimum is not None else 1
            chosen[p.name] = draw(
                st.lists(st.integers(low, 3), min_size=len(p.default), max_size=len(p.default))
            )
        elif p.kind == "shape":
            size = draw(st.integers(1, 3))
            chosen[p.name] = draw(
                st.lists(st.sampled_from([-1, 1, 2, 3, 4]), min_size=size, max_size=size).filter(
                    lambda s: s.count(-1) <= 1
                )
            )
    return chosen


@st.composite
def plans(draw) -> tuple[tuple, list]:
    """An input shape and [(class name, {param: value})] (plain data: Keras is used later)."""
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=1, max_size=4)))
    layers = []
    for _ in range(draw(st.integers(1, 5))):
        class_name = draw(st.sampled_from(LAYERS))
        layers.append((class_name, draw(param_values(cat.layer_info(class_name)))))
    return shape, layers


def build_spec(shape: tuple, layers: list) -> dict:
    spec = S.new_spec(shape)
    for i, (class_name, params) in enumerate(layers):
        spec = S.insert_layer(spec, i, class_name)
        info = cat.layer_info(class_name)
        for name, value in params.items():
            if info.param(name).kind == "layer":
                value = cat.default_layer_entry(value)
            try:
                spec = S.set_param(spec, i, name, value)
            except SpecError as error:  # Keras may refuse a combination: named, never raw
                assert f"'{S.body(spec)[i]['config']['name']}'" in str(error)
    return spec


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(plans())
def test_random_stacks_analyse_cleanly_or_name_the_failing_layer(plan):
    spec = build_spec(*plan)
    analysis = S.analyse(spec)
    body = S.body(spec)
    assert len(analysis.layers) == len(body)
    if analysis.ok:
        assert all(row.output_shape is not None for row in analysis.layers)
        model = S.build_model(spec)
        total = sum(int(w.numpy().size) for w in model.weights)
        trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
        assert (analysis.total_params, analysis.trainable_params) == (total, trainable)
        for row, layer in zip(analysis.layers, model.layers, strict=True):
            assert row.output_shape == tuple(layer.output.shape)
        return
    index = analysis.error_index
    assert index is not None, analysis.error
    name = body[index]["config"]["name"]
    assert f"'{name}'" in analysis.error
    assert "Traceback" not in analysis.error and "\x1b" not in analysis.error
    assert "\n" not in analysis.error
    assert all(row.output_shape is None for row in itertools.islice(analysis.layers, index, None))
    try:
        S.build_model(spec)
    except SpecError as error:
        assert f"'{name}'" in str(error)
    else:
        raise AssertionError(f"analyse found an error Keras did not: {analysis.error}")


def test_keras_is_not_left_with_uninitialised_variables():
    S.analyse(S.insert_layer(S.new_spec((4,)), 0, "Dense"))
    from keras.src.backend.common import global_state

    assert not global_state.get_global_attribute("uninitialized_variables")
    assert keras.ops.convert_to_numpy(keras.ops.ones((2,))).sum() == 2
