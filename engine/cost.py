"""Per-layer cost of a Sequential model, worked out from its analysed shapes (no Keras calls).

``model_cost(spec, analysis, input_shape)`` takes the spec and ``engine.spec.analyse``'s result
for it (with the same ``input_shape`` the analysis used: the dataset's when known, else the
spec's own) and gives, for every body layer, a ``LayerCost``:

- ``macs``: multiply-adds for **one sample** in inference (one MAC = one multiply and one
  add; FLOPs ≈ 2 × MACs). Counted: the products with the weights (Dense, convolutions,
  recurrent kernels) and the per-element arithmetic of normalisation and rescaling.
  Not counted: bias additions, activation functions (ReLU, PReLU, softmax, gates' sigmoid and
  tanh, the element-wise gate products of LSTM/GRU), dropout and noise (identity in
  inference), reshaping, padding, cropping and copying. Those layers cost 0 MACs.
- ``ops`` / ``ops_kind``: pooling has no multiply-adds (0 MACs); its work is given apart as
  comparisons (max pooling) or additions (average pooling): output elements × window size
  (global pooling: every input element once).
- ``param_bytes``: parameters (trainable and not) × the size of the layer's variable dtype
  (float32: 4 bytes; a ``mixed_float16`` policy keeps float32 variables).
- ``activation_bytes``: the layer's output elements for one sample × its compute dtype's size
  (``mixed_float16``: 2 bytes). What training keeps per sample for the backward pass is about
  the sum of these.

Modelled layers and their multiply-adds (``S`` = output positions, ``k`` = kernel elements,
``Cin``/``Cout`` channels, ``T`` time steps, ``u`` units, ``d`` input features):

- Dense: ``d × u`` per position of any leading axes (a Dense on (T, d) costs ``T × d × u``).
- ConvND (strides, padding, dilation are in ``S``): ``S × Cout × k × Cin / groups``.
- DepthwiseConvND: ``S × Cin × depth_multiplier × k``. SeparableConvND: that, plus the
  pointwise ``S × Cout × Cin × depth_multiplier``.
- ConvNDTranspose: every input position spreads a kernel: ``S_in × Cin × k × Cout``.
- SimpleRNN ``T × u × (d + u)``; LSTM ``T × 4u × (d + u)``; GRU ``T × 3u × (d + u)``.
  Bidirectional: forward plus backward layer (twice the inner layer for the same config).
  TimeDistributed: the inner layer's cost × T.
- BatchNormalization, Normalization, Rescaling: 1 per element (inference folds them into one
  scale and shift). LayerNormalization: 3 per element (mean, variance, scale and shift).
  UnitNormalization: 2 per element (sum of squares, scaling).
- Embedding: 0 MACs (a table lookup: ``ops_kind`` "lookups", one per index).

``None`` (shown "—") where a cost is not modelled (Resizing, an unknown layer), where a shape
is not known (a layer after an error, a sequence of unknown length), or for a functional
model (no per-layer rows). Totals add what is known; ``ModelCost.complete`` says whether
every layer was.

Pure arithmetic on the analysis: microseconds per layer, so it can run after every edit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

_DTYPE_BYTES = {
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "float64": 8,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "uint16": 2,
    "int32": 4,
    "uint32": 4,
    "int64": 8,
    "uint64": 8,
    "bool": 1,
}

# Layers with no multiply-adds in inference (activations, reshaping, regularisation, the
# random augmentations that pass inputs through when predicting).
_ZERO_COST = {
    "Activation",
    "ReLU",
    "LeakyReLU",
    "PReLU",
    "ELU",
    "Softmax",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ActivityRegularization",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "CenterCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
    "RandomTranslation",
    "RandomContrast",
    "Masking",
    "Identity",
}

# Multiply-adds per output element.
_PER_ELEMENT = {
    "BatchNormalization": 1,
    "Normalization": 1,
    "Rescaling": 1,
    "LayerNormalization": 3,
    "UnitNormalization": 2,
}

_RECURRENT_GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


@dataclass(frozen=True)
class LayerCost:
    """One body layer's cost for one sample; None where it is not modelled or not known."""

    index: int
    name: str
    class_name: str
    macs: int | None = None
    param_bytes: int | None = None
    activation_bytes: int | None = None
    ops: int | None = None  # work that is not multiply-adds (pooling, lookups)
    ops_kind: str = ""  # "comparisons", "additions", "lookups"
    note: str = ""  # why a value is missing, in a few words

    def macs_text(self) -> str:
        """'1.2 M MACs', '0 MACs (+ 1.6 K comparisons)', or '—'."""
        if self.macs is None:
            return "—"
        text = f"{format_count(self.macs)} MACs"
        if self.ops:
            text += f" (+ {format_count(self.ops)} {self.ops_kind})"
        return text


@dataclass
class ModelCost:
    """Per-layer costs and their totals (sums of the known values)."""

    layers: list[LayerCost] = field(default_factory=list)
    macs: int = 0
    param_bytes: int = 0
    activation_bytes: int = 0
    complete: bool = True  # every layer's MACs and memory are known
    note: str = ""

    def by_index(self) -> dict[int, LayerCost]:
        return {layer.index: layer for layer in self.layers}


# --------------------------------------------------------------------------- formatting


def format_count(value: float | None) -> str:
    """850, 12.5 K, 1.2 M, 3.4 G (decimal prefixes); '—' for None."""
    if value is None:
        return "—"
    value = float(value)
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= limit:
            scaled = value / limit
            return f"{scaled:.1f} {suffix}" if scaled < 100 else f"{scaled:.0f} {suffix}"
    return f"{value:.0f}"


def format_bytes(value: int | None) -> str:
    """'512 B', '1.5 KiB', '3.2 MiB', '1.1 GiB'; '—' for None."""
    if value is None:
        return "—"
    value = float(value)
    for limit, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if value >= limit:
            scaled = value / limit
            return f"{scaled:.1f} {suffix}" if scaled < 100 else f"{scaled:.0f} {suffix}"
    return f"{value:.0f} B"


# --------------------------------------------------------------------------- dtypes


def _policy_name(config: dict) -> str:
    dtype = config.get("dtype")
    if isinstance(dtype, dict):
        dtype = (dtype.get("config") or {}).get("name")
    return dtype if isinstance(dtype, str) else "float32"


def dtype_sizes(config: dict) -> tuple[int, int]:
    """(variable bytes, compute bytes) per element for a layer config's dtype policy."""
    name = _policy_name(config)
    if name.startswith("mixed_"):
        return 4, _DTYPE_BYTES.get(name[len("mixed_") :], 4)
    size = _DTYPE_BYTES.get(name, 4)
    return size, size


# --------------------------------------------------------------------------- per layer


def _prod(values) -> int | None:
    values = list(values)
    if any(v is None for v in values):
        return None
    return math.prod(int(v) for v in values)


def _spatial_and_channels(shape: tuple, config: dict) -> tuple[tuple, int | None]:
    """(spatial dims, channels) of a batched conv shape, honouring data_format."""
    if config.get("data_format") == "channels_first":
        return tuple(shape[2:]), shape[1]
    return tuple(shape[1:-1]), shape[-1]


def _kernel_elements(config: dict, rank: int) -> int:
    kernel = config.get("kernel_size", 1)
    if isinstance(kernel, int):
        return kernel**rank
    return math.prod(int(k) for k in kernel)


def _mul(*values) -> int | None:
    return None if any(v is None for v in values) else math.prod(int(v) for v in values)


def _macs(class_name: str, config: dict, in_shape: tuple, out_shape: tuple) -> tuple:
    """(macs, ops, ops_kind, note) for one layer; macs None where not modelled."""
    out_elements = _prod(out_shape[1:])
    if class_name in _ZERO_COST:
        return 0, None, "", ""
    if class_name in _PER_ELEMENT:
        return _mul(_PER_ELEMENT[class_name], out_elements), None, "", ""
    if class_name == "Embedding":
        return 0, _prod(in_shape[1:]), "lookups", ""
    if class_name == "Dense":
        return _mul(_prod(in_shape[1:]), config.get("units")), None, "", ""
    if class_name.endswith("Transpose") and class_name.startswith("Conv"):
        spatial, cin = _spatial_and_channels(in_shape, config)
        k = _kernel_elements(config, len(spatial))
        return _mul(_prod(spatial), cin, k, config.get("filters")), None, "", ""
    if class_name.startswith("DepthwiseConv"):
        spatial, cin = _spatial_and_channels(out_shape, config)
        _, cin = _spatial_and_channels(in_shape, config)
        k = _kernel_elements(config, len(spatial))
        dm = config.get("depth_multiplier", 1)
        return _mul(_prod(spatial), cin, dm, k), None, "", ""
    if class_name.startswith("SeparableConv"):
        spatial, cout = _spatial_and_channels(out_shape, config)
        _, cin = _spatial_and_channels(in_shape, config)
        k = _kernel_elements(config, len(spatial))
        dm = config.get("depth_multiplier", 1)
        depthwise = _mul(_prod(spatial), cin, dm, k)
        pointwise = _mul(_prod(spatial), cout, cin, dm)
        return (None if None in (depthwise, pointwise) else depthwise + pointwise), None, "", ""
    if class_name.startswith("Conv") and class_name[4:6] in ("1D", "2D", "3D"):
        spatial, cout = _spatial_and_channels(out_shape, config)
        _, cin = _spatial_and_channels(in_shape, config)
        k = _kernel_elements(config, len(spatial))
        groups = int(config.get("groups", 1) or 1)
        if cin is None:
            return None, None, "", "unknown channels"
        return _mul(_prod(spatial), cout, k, int(cin) // groups), None, "", ""
    if "Pooling" in class_name:
        kind = "comparisons" if "Max" in class_name else "additions"
        if class_name.startswith("Global"):
            return 0, _prod(in_shape[1:]), kind, ""
        pool = config.get("pool_size", 2)
        rank = len(out_shape) - 2
        window = pool**rank if isinstance(pool, int) else math.prod(int(p) for p in pool)
        return 0, _mul(out_elements, window), kind, ""
    if class_name in _RECURRENT_GATES:
        if len(in_shape) != 3:
            return None, None, "", "not a sequence"
        steps, features = in_shape[1], in_shape[2]
        units = config.get("units")
        if steps is None:
            return None, None, "", "sequence length unknown"
        per_step = _mul(_RECURRENT_GATES[class_name], units, int(features) + int(units))
        return _mul(steps, per_step), None, "", ""
    if class_name == "Bidirectional":
        inner = config.get("layer") or {}
        backward = config.get("backward_layer") or inner
        total = 0
        for part in (inner, backward):
            macs, _, _, note = _macs(
                part.get("class_name", ""), part.get("config") or {}, in_shape, out_shape
            )
            if macs is None:
                return None, None, "", note or "inner layer not modelled"
            total += macs
        return total, None, "", ""
    if class_name == "TimeDistributed":
        inner = config.get("layer") or {}
        if len(in_shape) < 3 or in_shape[1] is None:
            return None, None, "", "sequence length unknown"
        steps = int(in_shape[1])
        macs, ops, kind, note = _macs(
            inner.get("class_name", ""),
            inner.get("config") or {},
            (in_shape[0], *in_shape[2:]),
            (out_shape[0], *out_shape[2:]),
        )
        return _mul(steps, macs), _mul(steps, ops) if ops else None, kind, note
    return None, None, "", "not modelled"


def layer_cost(
    index: int,
    entry: dict,
    in_shape: tuple | None,
    out_shape: tuple | None,
    params: int | None,
) -> LayerCost:
    """The cost of one layer config given its batched input and output shapes."""
    class_name = str(entry.get("class_name", "?"))
    config = entry.get("config") or {}
    name = str(config.get("name", class_name))
    if in_shape is None or out_shape is None:
        return LayerCost(index, name, class_name, note="no shape")
    variable_bytes, compute_bytes = dtype_sizes(config)
    try:
        out_elements = _prod(out_shape[1:])
        macs, ops, ops_kind, note = _macs(class_name, config, tuple(in_shape), tuple(out_shape))
    except (TypeError, ValueError):  # a config value or shape of an unexpected kind
        out_elements, macs, ops, ops_kind, note = None, None, None, "", "not modelled"
    return LayerCost(
        index=index,
        name=name,
        class_name=class_name,
        macs=macs,
        param_bytes=None if params is None else int(params) * variable_bytes,
        activation_bytes=_mul(out_elements, compute_bytes),
        ops=ops,
        ops_kind=ops_kind if ops else "",
        note=note,
    )


def model_cost(spec: Any, analysis: Any, input_shape: tuple | None = None) -> ModelCost:
    """Per-layer costs of ``spec`` from ``analysis`` (``engine.spec.analyse(spec,
    input_shape)``); ``input_shape`` (no batch axis) as given to ``analyse``, else the spec's
    own. Never raises: a functional model or a missing analysis gives no rows and a note."""
    result = ModelCost()
    if analysis is None or getattr(analysis, "functional", False):
        result.complete = False
        result.note = "Per-layer cost is worked out for Sequential models only."
        return result
    try:
        from engine import spec as spec_module

        body = spec_module.body(spec)
        if input_shape is None:
            input_shape = spec_module.input_shape(spec)
    except Exception:
        body, input_shape = [], None
    shape = (None, *input_shape) if input_shape is not None else None
    for row in getattr(analysis, "layers", []):
        entry = body[row.index] if 0 <= row.index < len(body) else {"class_name": row.class_name}
        out = row.output_shape if not row.error else None
        cost = layer_cost(row.index, entry, shape, out, row.params)
        result.layers.append(cost)
        shape = out
        for attr in ("macs", "param_bytes", "activation_bytes"):
            value = getattr(cost, attr)
            if value is None:
                result.complete = False
            else:
                setattr(result, attr, getattr(result, attr) + value)
    return result
