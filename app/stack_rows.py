"""Rows of the stack view, derived from a ``ProjectDocument`` and its latest analysis.

``stack_rows(document)`` gives the input row (the shape the model trains with: the
dataset's signature when known, else the model's own InputLayer) and one ``StackRow`` per
body layer with its output shape, parameter count or error. Nothing here is stored: the
window calls it after each document change. A functional model has no stack: one
read-only row says so (``FUNCTIONAL_NOTICE``).
"""

from __future__ import annotations

from typing import Any

from engine import cost as costs
from engine.errors import LayerLabError
from widgets.stack_model import INPUT_KEY, StackRow

FUNCTIONAL_NOTICE = (
    "This model has branches or models inside it (a functional model): it is shown in the "
    "Graph tab; editing it is not available yet. You can evaluate, predict and export it."
)


def format_shape(shape: Any) -> str:
    if shape is None:
        return ""
    if isinstance(shape, list) and shape and isinstance(shape[0], list | tuple):
        return ", ".join(format_shape(item) for item in shape)
    items = ["None" if item is None else str(item) for item in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def stack_rows(document: Any) -> list[StackRow]:
    """The input row and one row per body layer, from the latest analysis."""
    if getattr(document, "is_functional", False):
        return [functional_row(document)]
    body = document.body()
    analysis = document.analysis
    by_index = {}
    if analysis is not None:
        by_index = {layer.index: layer for layer in analysis.layers}
    rows = [_input_row(document)]
    error_index = getattr(analysis, "error_index", None) if analysis is not None else None
    cost_by_index = layer_costs(document)
    for index, entry in enumerate(body):
        class_name = entry.get("class_name", "?")
        config = entry.get("config", {})
        key = str(config.get("name") or f"{class_name}#{index}")
        title = class_name
        category = ""
        if document.catalog is not None:
            title = document.catalog.describe_layer(entry)
            try:
                category = document.catalog.layer_info(class_name).category
            except LayerLabError:
                category = ""
        layer = by_index.get(index)
        error = getattr(layer, "error", None) if layer is not None else None
        if error is None and error_index == index and analysis is not None:
            error = analysis.error
        shape = format_shape(layer.output_shape) if layer is not None else ""
        params = layer.params if layer is not None and not error else None
        cost = cost_by_index.get(index)
        tooltip = _tooltip(entry, title, error) + _cost_tooltip(cost)
        trainable = config.get("trainable", True) is not False
        # A checkbox where there are weights to freeze (or the layer is frozen already).
        show_check = not trainable or (params is not None and params > 0)
        rows.append(
            StackRow(
                key=key,
                class_name=class_name,
                title=title,
                category=category,
                output_shape=shape if not error else "",
                params=params,
                error=error,
                tooltip=tooltip,
                trainable=trainable if show_check else None,
                cost=_cost_text(cost),
            )
        )
    return rows


def layer_costs(document: Any) -> dict[int, costs.LayerCost]:
    """Each body layer's cost per sample (``engine.cost``) from the latest analysis, with the
    input shape the analysis used; {} before an analysis."""
    analysis = getattr(document, "analysis", None)
    if analysis is None or getattr(analysis, "functional", False):
        return {}
    model = costs.model_cost(
        document.project.get("model"), analysis, getattr(document, "input_signature", None)
    )
    return model.by_index()


def cost_total(document: Any) -> str:
    """The model's multiply-adds per sample for the totals line ('4.5 M MACs per sample';
    'at least …' when a layer's cost is not known), or '' before an analysis."""
    analysis = getattr(document, "analysis", None)
    if analysis is None or getattr(analysis, "functional", False) or not analysis.layers:
        return ""
    model = costs.model_cost(
        document.project.get("model"), analysis, getattr(document, "input_signature", None)
    )
    if all(layer.macs is None for layer in model.layers):
        return ""
    text = f"{costs.format_count(model.macs)} MACs per sample"
    return text if model.complete else f"at least {text}"


def _cost_tooltip(cost: costs.LayerCost | None) -> str:
    if cost is None or cost.note == "no shape":
        return ""
    params = costs.format_bytes(cost.param_bytes)
    output = costs.format_bytes(cost.activation_bytes)
    return f"<br>Per sample: {cost.macs_text()} · parameters {params} · output {output}"


def _cost_text(cost: costs.LayerCost | None) -> str:
    """The row's MACs column: '1.2 M MACs', '—' (not modelled), '' (no cost or unknown)."""
    if cost is None or cost.note == "no shape" or cost.macs == 0:
        return ""
    return "—" if cost.macs is None else f"{costs.format_count(cost.macs)} MACs"


def functional_row(document: Any) -> StackRow:
    """The one row of a functional model: what it is and where it is shown. It is the input
    row (index 0), so no stack action (move, remove, duplicate) applies to it."""
    model = document.project.get("model", {})
    layers = [e for e in model.get("layers", []) if isinstance(e, dict)]
    count = sum(1 for e in layers if e.get("class_name") != "InputLayer")
    analysis = document.analysis
    params = None
    if analysis is not None and getattr(analysis, "functional", False) and analysis.total_params:
        params = analysis.total_params
    return StackRow(
        key=INPUT_KEY,
        class_name="Functional",
        title=f"Functional model · {count} layers",  # read-only: the heading says so
        category="Input",
        params=params,
        tooltip=FUNCTIONAL_NOTICE,
        is_input=True,
    )


def _raw_input_shape(document: Any) -> tuple | None:
    """The InputLayer's shape read from the dict itself (before Keras is loaded)."""
    layers = document.project.get("model", {}).get("layers", [])
    if not layers or layers[0].get("class_name") != "InputLayer":
        return None
    shape = layers[0].get("config", {}).get("batch_shape")
    return tuple(shape[1:]) if isinstance(shape, list) and len(shape) > 1 else None


def _input_row(document: Any) -> StackRow:
    spec_shape = document.spec_input_shape() if document.ready else _raw_input_shape(document)
    spec_shape = tuple(spec_shape) if spec_shape is not None else None
    if document.input_signature is not None:
        shape, source = document.input_signature, "from the dataset"
        if spec_shape is not None and spec_shape != shape:
            source += (
                f"; the model's own input {format_shape(spec_shape)} is replaced by it "
                "when training"
            )
    elif spec_shape is not None:
        shape, source = spec_shape, "set in the model"
    else:
        shape, source = None, ""
    if shape is None:
        title = "Input · shape comes from the dataset"
        tooltip = "The input shape is taken from the dataset once it is loaded." + (
            f" {document.signature_note}" if document.signature_note else ""
        )
        output = ""
    else:
        title = f"Input {format_shape(shape)}"
        if document.input_signature is not None and spec_shape not in (None, shape):
            # an opened model file whose dataset was not guessed: its own input shows too
            # (short: the row is about 23 characters wide at 1280×800; the tooltip says more)
            title += f" ≠ {format_shape(spec_shape)}"
        tooltip = f"Input shape {format_shape(shape)}, {source}."
        output = format_shape((None, *shape))
    return StackRow(
        key=INPUT_KEY,
        class_name="InputLayer",
        title=title,
        category="Input",
        output_shape=output,
        params=None,
        tooltip=tooltip,
        is_input=True,
    )


def _tooltip(entry: dict, title: str, error: str | None) -> str:
    name = entry.get("config", {}).get("name", "")
    frozen = (
        "<br>Frozen: its weights do not change when training (tick the box to train them)."
        if entry.get("config", {}).get("trainable", True) is False
        else ""
    )
    if error:
        return f"<b>{title}</b> ({name}){frozen}<br><span style='color:#c81e2d'>{error}</span>"
    return f"<b>{title}</b> ({name}){frozen}"


def stack_error(document: Any) -> str | None:
    """The line under the stack: why the model does not build, else which of the project's
    trained weights will not fit the model as it is now (an edited layer, or a dataset
    whose samples differ from what it was trained on), else None."""
    analysis = document.analysis
    if analysis is None:
        return None
    if not analysis.ok:
        return analysis.error
    if not document.project.get("weights"):
        return None
    from engine.project_weights import misfit_layers

    params = {layer.name: layer.params for layer in analysis.layers if layer.params}
    misfits = misfit_layers(document.project, document.path, params)
    if not misfits:
        return None
    named = ", ".join(
        f"{name} ({now:,} parameters; trained {had:,})" for name, now, had in misfits[:3]
    )
    more = f" and {len(misfits) - 3} more" if len(misfits) > 3 else ""
    return (
        f"The trained weights do not fit {named}{more}: "
        f"{'it starts' if len(misfits) == 1 else 'they start'} fresh when training. "
        "If the dataset changed, choose the one the model was trained on; or choose "
        "Start from: fresh initialisation."
    )


def stack_totals(document: Any) -> tuple[int | None, int | None]:
    """(total, trainable) parameters of the analysed model, or (None, None) while unknown.
    A functional model is counted even when the dataset does not fit its input."""
    analysis = document.analysis
    if analysis is None:
        return None, None
    if getattr(analysis, "functional", False) and (analysis.ok or analysis.total_params):
        return analysis.total_params, analysis.trainable_params
    if not analysis.ok:
        return None, None
    return analysis.total_params, analysis.trainable_params
