"""What Keras introspection cannot tell the layer catalog, and nothing more.

``engine.catalog`` reads each layer's signature, docstring and ``get_config()``; this module adds
the facts those leave open: which layers the app offers and in which category, defaults for
arguments Keras requires (``units``, ``filters`` ...), choice lists for string arguments, value
ranges, which parameters are "advanced" (shown collapsed), the key parameters of a row label,
and the kinds of parameters whose Keras default is ``None``. Plain data: no Keras import.
"""

from __future__ import annotations

# Display order of the categories.
CATEGORIES: tuple[str, ...] = (
    "Core",
    "Activation",
    "Convolution",
    "Pooling",
    "Recurrent",
    "Normalization",
    "Regularization",
    "Reshaping",
    "Preprocessing",
)

# Layer class name -> category. Only these layers are offered (and allowed in model files).
LAYER_CATEGORY: dict[str, str] = {
    "InputLayer": "Core",
    "Dense": "Core",
    "Activation": "Core",
    "Embedding": "Core",
    "ReLU": "Activation",
    "LeakyReLU": "Activation",
    "PReLU": "Activation",
    "ELU": "Activation",
    "Softmax": "Activation",
    "Conv1D": "Convolution",
    "Conv2D": "Convolution",
    "Conv3D": "Convolution",
    "SeparableConv1D": "Convolution",
    "SeparableConv2D": "Convolution",
    "DepthwiseConv2D": "Convolution",
    "Conv1DTranspose": "Convolution",
    "Conv2DTranspose": "Convolution",
    "MaxPooling1D": "Pooling",
    "MaxPooling2D": "Pooling",
    "MaxPooling3D": "Pooling",
    "AveragePooling1D": "Pooling",
    "AveragePooling2D": "Pooling",
    "AveragePooling3D": "Pooling",
    "GlobalMaxPooling1D": "Pooling",
    "GlobalMaxPooling2D": "Pooling",
    "GlobalMaxPooling3D": "Pooling",
    "GlobalAveragePooling1D": "Pooling",
    "GlobalAveragePooling2D": "Pooling",
    "GlobalAveragePooling3D": "Pooling",
    "SimpleRNN": "Recurrent",
    "LSTM": "Recurrent",
    "GRU": "Recurrent",
    "Bidirectional": "Recurrent",
    "TimeDistributed": "Recurrent",
    "BatchNormalization": "Normalization",
    "LayerNormalization": "Normalization",
    "UnitNormalization": "Normalization",
    "Dropout": "Regularization",
    "SpatialDropout1D": "Regularization",
    "SpatialDropout2D": "Regularization",
    "SpatialDropout3D": "Regularization",
    "GaussianNoise": "Regularization",
    "GaussianDropout": "Regularization",
    "AlphaDropout": "Regularization",
    "ActivityRegularization": "Regularization",
    "Flatten": "Reshaping",
    "Reshape": "Reshaping",
    "Permute": "Reshaping",
    "RepeatVector": "Reshaping",
    "ZeroPadding1D": "Reshaping",
    "ZeroPadding2D": "Reshaping",
    "Cropping1D": "Reshaping",
    "Cropping2D": "Reshaping",
    "UpSampling1D": "Reshaping",
    "UpSampling2D": "Reshaping",
    "Rescaling": "Preprocessing",
    "Normalization": "Preprocessing",
    "Resizing": "Preprocessing",
    "CenterCrop": "Preprocessing",
    "RandomFlip": "Preprocessing",
    "RandomRotation": "Preprocessing",
    "RandomZoom": "Preprocessing",
    "RandomTranslation": "Preprocessing",
    "RandomContrast": "Preprocessing",
}

# Recurrent layers a Bidirectional may wrap.
RECURRENT_LAYERS: tuple[str, ...] = ("SimpleRNN", "LSTM", "GRU")
# Layers that wrap another layer (their "layer" parameter holds a nested layer dict).
WRAPPERS: tuple[str, ...] = ("Bidirectional", "TimeDistributed")

# Values for arguments Keras requires (no default in the signature). Keyed by argument name,
# with per-layer entries taking precedence. Nested layers are given as a class name.
REQUIRED_DEFAULTS: dict[str, object] = {
    "units": 32,
    "filters": 32,
    "kernel_size": 3,
    "rate": 0.5,
    "stddev": 0.1,
    "input_dim": 10000,
    "output_dim": 32,
    "target_shape": (-1, 1),
    "dims": (2, 1),
    "n": 3,
    "activation": "relu",
    "scale": 1 / 255,
    "factor": 0.1,
    "height_factor": 0.1,
    "width_factor": 0.1,
    "pool_size": 2,
    "height": 32,
    "width": 32,
}
REQUIRED_DEFAULTS_BY_LAYER: dict[str, dict[str, object]] = {
    "Bidirectional": {"layer": "LSTM"},
    "TimeDistributed": {"layer": "Dense"},
    "SpatialDropout1D": {"rate": 0.2},
    "SpatialDropout2D": {"rate": 0.2},
    "SpatialDropout3D": {"rate": 0.2},
    "GaussianDropout": {"rate": 0.2},
    "AlphaDropout": {"rate": 0.1},
    "InputLayer": {"shape": (10,)},
}

# Constructor arguments the catalog does not offer as parameters: arrays, objects, things set by
# the app itself, or options that do not survive get_config(). Keys of the layer's config are
# still kept untouched in the spec.
EXCLUDED_PARAMS: frozenset[str] = frozenset(
    {
        "name",
        "weights",
        "backward_layer",
        "lora_rank",
        "lora_alpha",
        "quantization_config",
        "input_tensor",
        "sparse",
        "ragged",
        "optional",
        "batch_size",
        "shape",
        "mean",
        "variance",
        "renorm_clipping",
        "use_cudnn",
        "zero_output_for_mask",
        "return_state",
        "stateful",
        "time_major",
        "implementation",
        "synchronized",
        "rms_scaling",
        "gamma_initializer_config",
    }
)

# Choice lists for string arguments; per-layer lists take precedence.
CHOICES: dict[str, tuple] = {
    "padding": ("valid", "same"),
    "data_format": ("channels_last", "channels_first"),
    "interpolation": ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area"),
    "fill_mode": ("reflect", "wrap", "constant", "nearest"),
    "merge_mode": ("concat", "sum", "mul", "ave", None),
    "mode": ("horizontal_and_vertical", "horizontal", "vertical"),
}
CHOICES_BY_LAYER: dict[str, dict[str, tuple]] = {
    "Conv1D": {"padding": ("valid", "same", "causal")},
    "UpSampling2D": {"interpolation": ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")},
}

# Kinds of parameters whose Keras default (None, a list, ...) does not reveal them.
KIND_BY_NAME: dict[str, str] = {
    "seed": "int",
    "noise_shape": "int_tuple",
    "strides": "int_tuple",
    "output_padding": "int_tuple",
    "dilation_rate": "int_tuple",
    "kernel_size": "int_tuple",
    "pool_size": "int_tuple",
    "size": "int_tuple",
    "padding": "choice",
    "cropping": "int_tuple",
    "target_shape": "shape",
    "batch_shape": "shape",
    "dims": "int_tuple",
    "shared_axes": "int_tuple",
    "max_value": "float",
    "threshold": "float",
    "negative_slope": "float",
    "alpha": "float",
    "width_factor": "float",
    "height_factor": "float",
    "factor": "float_tuple",
    "value_range": "float_tuple",
    "fill_value": "float",
    "l1": "float",
    "l2": "float",
    "momentum": "float",
    "epsilon": "float",
    "renorm_momentum": "float",
    "stddev": "float",
    "rate": "float",
    "dropout": "float",
    "recurrent_dropout": "float",
    "layer": "layer",
    "dtype": "dtype",
}
KIND_BY_LAYER: dict[str, dict[str, str]] = {
    "ZeroPadding1D": {"padding": "int_tuple"},
    "ZeroPadding2D": {"padding": "int_tuple"},
    "RandomZoom": {"height_factor": "float", "width_factor": "float"},
}

# Parameters that may be None (besides those whose Keras default is None).
OPTIONAL_PARAMS: frozenset[str] = frozenset({"merge_mode", "max_value", "width_factor"})

# Value ranges (inclusive); for tuples each element is checked. Per-layer entries first.
RANGES: dict[str, tuple[float | None, float | None]] = {
    "units": (1, None),
    "filters": (1, None),
    "kernel_size": (1, None),
    "strides": (1, None),
    "pool_size": (1, None),
    "dilation_rate": (1, None),
    "depth_multiplier": (1, None),
    "groups": (1, None),
    "size": (1, None),
    "input_dim": (1, None),
    "output_dim": (1, None),
    "n": (1, None),
    "height": (1, None),
    "width": (1, None),
    "dims": (1, None),
    "rate": (0.0, 1.0),
    "dropout": (0.0, 1.0),
    "recurrent_dropout": (0.0, 1.0),
    "momentum": (0.0, 1.0),
    "renorm_momentum": (0.0, 1.0),
    "epsilon": (0.0, None),
    "stddev": (0.0, None),
    "l1": (0.0, None),
    "l2": (0.0, None),
    "cropping": (0, None),
    "output_padding": (0, None),
    "seed": (0, None),
    "noise_shape": (1, None),
    "negative_slope": (0.0, None),
    "height_factor": (-1.0, 1.0),
    "width_factor": (-1.0, 1.0),
    "factor": (-1.0, 1.0),
    "target_shape": (-1, None),
}
RANGES_BY_LAYER: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "ZeroPadding1D": {"padding": (0, None)},
    "ZeroPadding2D": {"padding": (0, None)},
    "Dropout": {"rate": (0.0, 0.99)},
    "RandomContrast": {"factor": (0.0, 1.0)},
    "RandomRotation": {"factor": (-1.0, 1.0)},
    "RandomZoom": {"height_factor": (-1.0, 1.0), "width_factor": (-1.0, 1.0)},
}

# Parameters shown in the basic (always visible) part of the editor; the rest are "advanced".
BASIC_PARAMS: frozenset[str] = frozenset(
    {
        "units",
        "activation",
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "pool_size",
        "rate",
        "dropout",
        "recurrent_dropout",
        "return_sequences",
        "go_backwards",
        "input_dim",
        "output_dim",
        "mask_zero",
        "target_shape",
        "dims",
        "n",
        "layer",
        "merge_mode",
        "kernel_regularizer",
        "stddev",
        "scale",
        "offset",
        "factor",
        "height_factor",
        "width_factor",
        "mode",
        "size",
        "cropping",
        "height",
        "width",
        "negative_slope",
        "max_value",
        "l1",
        "l2",
        "momentum",
        "depth_multiplier",
        "value_range",
    }
)

# Key parameters for the one-line row label, in order. Required-by-Keras ones and the activation
# are shown bare ("Dense 16 · relu"); the others appear as "name value" when not the default.
KEY_PARAMS: dict[str, tuple[str, ...]] = {
    "InputLayer": ("batch_shape",),
    "Dense": ("units", "activation"),
    "Activation": ("activation",),
    "Embedding": ("input_dim", "output_dim", "mask_zero"),
    "LeakyReLU": ("negative_slope",),
    "ReLU": ("max_value", "negative_slope"),
    "ELU": ("alpha",),
    "Conv1D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "Conv3D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "SeparableConv1D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "SeparableConv2D": ("filters", "kernel_size", "strides", "padding", "activation"),
    "DepthwiseConv2D": ("kernel_size", "depth_multiplier", "strides", "padding", "activation"),
    "Conv1DTranspose": ("filters", "kernel_size", "strides", "padding", "activation"),
    "Conv2DTranspose": ("filters", "kernel_size", "strides", "padding", "activation"),
    "MaxPooling1D": ("pool_size", "padding"),
    "MaxPooling2D": ("pool_size", "padding"),
    "MaxPooling3D": ("pool_size", "padding"),
    "AveragePooling1D": ("pool_size", "padding"),
    "AveragePooling2D": ("pool_size", "padding"),
    "AveragePooling3D": ("pool_size", "padding"),
    "SimpleRNN": ("units", "dropout", "recurrent_dropout", "return_sequences"),
    "LSTM": ("units", "dropout", "recurrent_dropout", "return_sequences"),
    "GRU": ("units", "dropout", "recurrent_dropout", "return_sequences"),
    "Bidirectional": ("layer", "merge_mode"),
    "TimeDistributed": ("layer",),
    "BatchNormalization": ("momentum", "trainable"),
    "Dropout": ("rate",),
    "SpatialDropout1D": ("rate",),
    "SpatialDropout2D": ("rate",),
    "SpatialDropout3D": ("rate",),
    "GaussianNoise": ("stddev",),
    "GaussianDropout": ("rate",),
    "AlphaDropout": ("rate",),
    "ActivityRegularization": ("l1", "l2"),
    "Reshape": ("target_shape",),
    "Permute": ("dims",),
    "RepeatVector": ("n",),
    "ZeroPadding1D": ("padding",),
    "ZeroPadding2D": ("padding",),
    "Cropping1D": ("cropping",),
    "Cropping2D": ("cropping",),
    "UpSampling1D": ("size",),
    "UpSampling2D": ("size", "interpolation"),
    "Rescaling": ("scale", "offset"),
    "Resizing": ("height", "width"),
    "CenterCrop": ("height", "width"),
    "RandomFlip": ("mode",),
    "RandomRotation": ("factor",),
    "RandomZoom": ("height_factor", "width_factor"),
    "RandomTranslation": ("height_factor", "width_factor"),
    "RandomContrast": ("factor",),
}

# Help for parameters the layer docstrings do not describe.
FALLBACK_HELP: dict[str, str] = {
    "trainable": "Whether the layer's weights are updated during training.",
    "dtype": "Data type of the layer's computations and weights (mixed_* = mixed precision).",
    "activity_regularizer": "Regularizer applied to the layer's output.",
    "batch_shape": "Shape of one batch of inputs; the first entry (batch size) is None.",
    "seed": "Random seed, for repeatable runs.",
    "layer": "The layer this wrapper applies.",
}

# Initializer names the editor offers (derived from keras.initializers, minus these, which only
# fit special shapes or need arguments).
EXCLUDED_INITIALIZERS: frozenset[str] = frozenset({"identity", "stft", "constant"})
# Activation names Keras offers but that need extra arguments, so cannot be named alone.
EXCLUDED_ACTIVATIONS: frozenset[str] = frozenset({"threshold"})
# Constraint names the editor offers (None = no constraint).
CONSTRAINTS: tuple[str | None, ...] = (None, "max_norm", "min_max_norm", "non_neg", "unit_norm")
# Regularizer kinds the editor offers (None = no regularizer).
REGULARIZERS: tuple[str | None, ...] = (None, "l1", "l2", "l1_l2")
# Default factor for a regularizer newly switched on.
DEFAULT_REGULARIZER_FACTOR = 0.01
# Dtype policies the editor offers.
DTYPES: tuple[str, ...] = (
    "float32",
    "float16",
    "bfloat16",
    "float64",
    "mixed_float16",
    "mixed_bfloat16",
)
INPUT_DTYPES: tuple[str, ...] = ("float32", "float16", "float64", "int32", "int64", "uint8")

# How the spec's shape analysis names the axes a layer expects, by input rank.
AXES_BY_RANK: dict[int, str] = {
    2: "(batch, features)",
    3: "(batch, steps, features)",
    4: "(batch, height, width, channels)",
    5: "(batch, depth, height, width, channels)",
}
