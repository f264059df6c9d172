"""Export the digits demo to TensorFlow Lite (float32, float16, int8) and ONNX, and print how
closely each exported file predicts like Keras on the whole test part.

    python bench/bench_deploy_export.py [--epochs 10]

Prints, per format: file size, max |difference| of the outputs (softmax probabilities), the
accuracy of Keras and of the exported file, the share of equal predicted classes, and the
seconds taken to convert and to run the check.
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()

    from engine.quiet import import_keras, native_stderr_captured

    with native_stderr_captured():
        import_keras()
        from engine import deploy_export, runs, training
        from engine.project import demo_project

        folder = Path(tempfile.mkdtemp(prefix="bench_deploy_"))
        project = demo_project()
        project["fit"]["epochs"] = args.epochs
        project["fit"]["seed"] = 1
        started = time.perf_counter()
        result = training.run(copy.deepcopy(project), workdir=folder)
        if result.status != "completed":
            print(f"training failed: {result.message}")
            return 1
        path = folder / "digits.llproj"
        project, record = runs.record_run(project, result, path)
        model = runs.run_model(path, record)
        dataset = runs.run_dataset(record)
        print(
            f"digits demo MLP, {args.epochs} epochs, trained in "
            f"{time.perf_counter() - started:.1f} s; {dataset.test_size} test samples"
        )
        print(
            f"{'format':<12} {'bytes':>8} {'max |diff|':>11} {'Keras acc':>10} "
            f"{'export acc':>10} {'same class':>10} {'convert s':>9} {'check s':>8}"
        )
        formats = ["tflite", "tflite-f16", "tflite-int8"]
        reason = deploy_export.onnx_unavailable_reason()
        if reason is None:
            formats.append("onnx")
        for fmt in formats:
            target = folder / f"digits{deploy_export.SUFFIXES[fmt]}.{fmt}"
            t0 = time.perf_counter()
            written = deploy_export.export_deployable(model, target, fmt)
            t1 = time.perf_counter()
            agreement = deploy_export.check_agreement(
                model, target, fmt, dataset, limit=dataset.test_size
            )
            t2 = time.perf_counter()
            print(
                f"{fmt:<12} {written.size:>8,} {agreement.max_abs_diff:>11.3g} "
                f"{agreement.keras_accuracy:>10.4f} {agreement.exported_accuracy:>10.4f} "
                f"{100 * agreement.same_predictions:>9.2f}% {t1 - t0:>9.2f} {t2 - t1:>8.2f}"
            )
        if reason is not None:
            print(f"onnx: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
