"""Issue 11: a model file opened in the window keeps what the user cares about — its trained
weights (as the project's initial weights and as an "Imported from" run that evaluates at
once, matching plain Keras with those weights) and its compile settings."""

from __future__ import annotations

import numpy as np

from engine.modelfile import save_model


def _trained_digits_model(path):
    import keras

    from engine.datasets import load_dataset

    dataset = load_dataset({"source": "sample", "name": "digits"})
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(0.002),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    x_test, y_test = dataset.test_arrays()
    rng = np.random.default_rng(0)  # a little training on the test part: clearly not fresh
    order = rng.permutation(len(x_test))
    model.fit(x_test[order], y_test[order], epochs=15, batch_size=32, verbose=0)
    _loss, accuracy = model.evaluate(x_test, y_test, batch_size=32, verbose=0)
    save_model(model, path)
    return float(accuracy)


def test_opened_model_evaluates_at_once_like_plain_keras(qtbot, make_window, tmp_path):
    path = tmp_path / "digits_mlp.h5"
    keras_accuracy = _trained_digits_model(path)
    assert keras_accuracy > 0.5  # trained: a fresh model would score about 0.1

    window = make_window()
    window.open_path(path, ask=False)
    qtbot.waitUntil(lambda: bool(window.document.project.get("weights")), timeout=60_000)
    project = window.document.project
    assert project["fit"]["start_from"] == "weights"
    assert window.training_panel.start_from_combo.isEnabled()
    assert window.training_panel.start_from_combo.currentData() == "weights"
    [run] = project["runs"]
    assert run["status"] == "imported" and "digits_mlp.h5" in run["message"]
    assert window.runs_panel.table.selected_run_ids() == [run["id"]]
    assert any("weights" in line.lower() for line in window.log_view.lines())

    with qtbot.waitSignal(window.runs_panel.evaluationFinished, timeout=60_000) as blocker:
        window.runs_panel.evaluate_selected()
    _run_id, evaluation = blocker.args[0]
    assert np.isclose(evaluation.metrics["accuracy"], keras_accuracy, atol=1e-6)

    # the Weights tab does not tell the user to "train again" for a run it never trained
    window.tabs.setCurrentWidget(window.weights_page)
    window.weights.refresh()
    text = window.weights_page.message.text()
    assert "opened from a model file, not trained here" in text, text


def test_saving_puts_the_weights_beside_the_project(qtbot, make_window, tmp_path):
    path = tmp_path / "digits_mlp.h5"
    _trained_digits_model(path)
    window = make_window()
    window.open_path(path, ask=False)
    qtbot.waitUntil(lambda: bool(window.document.project.get("weights")), timeout=60_000)
    target = tmp_path / "saved" / "mlp.llproj"
    target.parent.mkdir()
    assert window.files.save_to(target)
    assert window.document.project["weights"] == "mlp.weights.h5"
    assert (target.parent / "mlp.weights.h5").is_file()
    run = window.document.project["runs"][0]
    assert (target.parent / run["weights"]).is_file()


def test_tutorial_model_gets_its_dataset_and_a_misfit_is_said(qtbot, make_window, tmp_path):
    """An IMDB multi-hot model opens with IMDB (10,000 words), so its weights fit; switching
    to another dataset says which trained layers will not fit, until fresh is chosen."""
    import keras

    model = keras.Sequential(
        [keras.Input((10000,)), keras.layers.Dense(16, activation="relu", name="hidden"),
         keras.layers.Dense(1, activation="sigmoid", name="out")]
    )  # fmt: skip
    path = tmp_path / "imdb_mlp.h5"
    save_model(model, path)
    window = make_window()
    window.open_path(path, ask=False)
    qtbot.waitUntil(lambda: bool(window.document.project.get("weights")), timeout=60_000)
    document = window.document
    assert document.project["dataset"]["name"] == "imdb"
    assert window.stack_model.rows()[0].title == "Input (10000,)"
    assert document.stack_error() is None
    assert any("guessed" in line for line in window.log_view.lines())

    document.set_dataset({"source": "sample", "name": "digits"})
    error = document.stack_error()
    assert error is not None and "hidden (1,040 parameters; trained 160,016)" in error
    assert window.stack_view.errorLabel.isVisibleTo(window.stack_view)
    compile_block, fit = window.training_panel.settings()
    document.set_training(compile_block, {**fit, "start_from": "fresh"})
    assert document.stack_error() is None
    assert not window.stack_view.errorLabel.isVisibleTo(window.stack_view)
