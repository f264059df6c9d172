"""Open real Keras model files with plain Keras 3 and with LayerLab, side by side.

    python bench/real_model_files.py FOLDER [--limit N]

For each ``.h5``/``.hdf5`` file in FOLDER: the Keras version that wrote it, whether plain
Keras 3 ``load_model(compile=False)`` opens it, whether LayerLab's ``load_model_file`` opens
it, the parameter count, whether the trained weights were loaded, and:

- where plain Keras opens it too, whether both give identical predictions on a random input;
- where only LayerLab opens it, whether the weights LayerLab read (by layer name) equal the
  ones Keras's own order-based HDF5 reader puts into the same translated model.

When ``tf_keras`` (Keras 2 for TensorFlow 2.16+, not a LayerLab dependency) can be imported,
e.g. ``PYTHONPATH=/path/to/tf_keras``, each file is also opened with real Keras 2 and the
largest difference between its predictions and LayerLab's is printed ("vs Keras 2").

Ends with "LayerLab opened X of Y Keras 2 files (plain Keras 3.15: Z)". The files are not
part of the repository (collect them yourself: see /work/real_models/sources.csv).
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import h5py
import numpy as np

from engine import keras2
from engine.modelfile import load_model_file
from engine.quiet import import_keras

keras = import_keras()


def random_inputs(model, seed: int = 0):
    """A batch of 2 random inputs fitting ``model``: integer ids from 1 to below the smallest
    Embedding vocabulary when the model has an Embedding (0 is padding: with mask_zero, what
    a layer outputs at masked steps differs between Keras versions and means nothing), else
    normal floats; unknown sizes (sequence lengths) become 7."""
    rng = np.random.default_rng(seed)
    vocab = [
        layer.input_dim for layer in _all_layers(model) if isinstance(layer, keras.layers.Embedding)
    ]
    arrays = []
    for tensor in model.inputs:
        shape = [2] + [7 if size is None else int(size) for size in tensor.shape[1:]]
        if vocab:
            arrays.append(rng.integers(1, max(min(vocab), 2), size=shape).astype("float32"))
        else:
            arrays.append(rng.normal(size=shape).astype("float32"))
    return arrays[0] if len(arrays) == 1 else arrays


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        inner = getattr(layer, "layer", None) or getattr(layer, "forward_layer", None)
        if inner is not None:
            yield inner


def _predict(model, inputs):
    out = model(inputs, training=False)
    out = out if isinstance(out, list | tuple) else [out]
    return [np.asarray(o) for o in out]


def same_predictions(a, b, inputs) -> bool:
    return all(
        np.array_equal(x, y) for x, y in zip(_predict(a, inputs), _predict(b, inputs), strict=True)
    )


def keras2_difference(path: Path, loaded, inputs) -> str:
    """Largest |difference| between real Keras 2's (tf_keras) predictions and LayerLab's."""
    try:
        import tf_keras
    except ImportError:
        return ""
    try:
        reference = tf_keras.models.load_model(path, compile=False)
        theirs = reference(inputs, training=False)
    except Exception as error:
        return f"Keras 2 fails: {str(error).splitlines()[0][:40]}"
    theirs = theirs if isinstance(theirs, list | tuple) else [theirs]
    ours = _predict(loaded.model, inputs)
    if len(ours) != len(theirs):
        return "Keras 2: other outputs"
    worst = max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        if np.shape(a) == np.shape(b)
        else np.inf
        for a, b in zip(ours, theirs, strict=True)
    )
    return f"vs Keras 2: {worst:.1e}"


def keras_reader_agrees(path: Path, loaded) -> bool | None:
    """Build the same translated config again and let Keras's own (order-based) HDF5
    weight reader fill it: do its weights equal LayerLab's?"""
    from keras.src.legacy.saving import legacy_h5_format, saving_options, saving_utils

    with h5py.File(path, "r") as h5:
        config = _parse(h5.attrs["model_config"])
        translated, _ = keras2.translate(config)
        try:
            with saving_options.keras_option_scope(use_legacy_config=True):
                twin = saving_utils.model_from_config(copy.deepcopy(translated))
            legacy_h5_format.load_weights_from_hdf5_group(h5["model_weights"], twin)
            if keras2.is_keras2(loaded.keras_version):
                keras2.match_keras2_activations(twin)
        except Exception:
            return None
    ours, theirs = loaded.model.get_weights(), twin.get_weights()
    return len(ours) == len(theirs) and all(
        np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True)
    )


def _parse(raw):
    import json

    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def version_of(path: Path) -> str:
    try:
        with h5py.File(path, "r") as h5:
            value = h5.attrs.get("keras_version", b"?")
    except OSError:
        return "?"
    return value.decode() if isinstance(value, bytes) else str(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("absl").setLevel(logging.ERROR)
    files = sorted(p for p in args.folder.iterdir() if p.suffix.lower() in (".h5", ".hdf5"))
    if args.limit:
        files = files[: args.limit]
    header = f"{'file':60} {'keras':9} {'plain':5} {'ours':5} {'params':>9} {'weights':7} check"
    print(header)
    totals = {
        "keras2": 0,
        "ours": 0,
        "plain": 0,
        "plain_runs": 0,
        "all": 0,
        "ours_all": 0,
        "plain_all": 0,
    }
    for path in files:
        version = version_of(path)
        old = keras2.is_keras2(version)
        plain = ours = None
        plain_error = ours_error = ""
        try:
            plain = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as error:
            plain_error = str(error).splitlines()[0][:80] if str(error) else type(error).__name__
        try:
            ours = load_model_file(path)
        except Exception as error:
            ours_error = str(error)[:160]
        check = ""
        plain_runs = plain is not None
        if ours is not None and plain is not None:
            inputs = random_inputs(ours.model)
            try:
                same = same_predictions(plain, ours.model, inputs)
                check = "same predictions" if same else "DIFFER"
            except Exception:
                plain_runs = False
                shape = getattr(plain, "input_shape", "?")
                check = f"plain Keras's model does not run (its input shape {shape})"
        elif ours is not None:
            agrees = keras_reader_agrees(path, ours)
            check = {True: "= Keras reader", False: "!= Keras reader", None: "no Keras reader"}[
                agrees
            ]
        if ours is not None:
            try:
                difference = keras2_difference(path, ours, random_inputs(ours.model))
            except Exception as error:
                difference = f"no comparison ({type(error).__name__})"
            check = f"{check}; {difference}" if difference else check
        params = f"{ours.model.count_params():,}" if ours is not None else "-"
        weights = str(ours.weights_loaded) if ours is not None else "-"
        print(
            f"{path.name[:60]:60} {version:9} {'yes' if plain else 'no':5} "
            f"{'yes' if ours else 'no':5} {params:>9} {weights:7} {check}",
            flush=True,
        )
        if ours_error:
            print(f"    LayerLab: {ours_error}")
        if plain_error and ours is None:
            print(f"    Keras: {plain_error}")
        totals["all"] += 1
        totals["ours_all"] += ours is not None
        totals["plain_all"] += plain is not None
        if old:
            totals["keras2"] += 1
            totals["ours"] += ours is not None
            totals["plain"] += plain is not None
            totals["plain_runs"] += plain_runs
        keras.backend.clear_session()
    print(
        f"LayerLab opened {totals['ours']} of {totals['keras2']} Keras 2 files "
        f"(plain Keras {keras.__version__}: {totals['plain']})"
    )
    print(
        f"  of the {totals['plain']} plain Keras opened, {totals['plain_runs']} give a model "
        "that runs on input of the file's shape"
    )
    print(
        f"All files: LayerLab {totals['ours_all']} of {totals['all']} "
        f"(plain Keras: {totals['plain_all']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
