"""widgets.activation_view and widgets.explanation_view on plain numpy input (no Keras)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6.QtWidgets import QLabel, QWidget

from widgets.activation_view import ActivationView, Bars
from widgets.explanation_view import ExplanationView, FeatureBars, overlay_rgb, token_html


@dataclass
class Layer:
    name: str
    class_name: str
    shape: tuple
    values: np.ndarray
    note: str = ""


@dataclass
class Sample:
    kind: str
    value: Any
    label: str = ""


@dataclass
class Why:
    kind: str
    class_index: int = 1
    class_name: str = "yes"
    probability: float | None = 0.9
    heatmap: Any = None
    scores: Any = None
    tokens: Any = None
    feature_names: Any = None
    layer: str = ""
    note: str = ""
    sample: Any = None
    title: str = "test sample 3"
    extra: dict = field(default_factory=dict)


def test_one_section_per_layer_drawn_by_rank(qtbot):
    view = ActivationView()
    qtbot.addWidget(view)
    rng = np.random.default_rng(0)
    layers = [
        Layer(
            "conv",
            "Conv2D",
            (8, 8, 80),
            rng.random((8, 8, 70)),
            "showing first 70 of 80 feature maps",
        ),
        Layer("lstm", "LSTM", (20, 6), rng.random((20, 6))),
        Layer("dense", "Dense", (10,), np.array([0, 0, 0, 0, 0, 0, 1.0, -2.0, 0, 0])),
    ]
    view.show_activations(layers, "Run 1 · test sample 4")
    assert view.title.text() == "Run 1 · test sample 4"
    headers = view.header_texts()
    assert headers[0].startswith("<b>conv</b> (Conv2D) → 8×8×80")
    assert "showing first 70 of 80 feature maps" in headers[0]
    assert "first 64 maps drawn" in headers[0]
    assert headers[1].startswith("<b>lstm</b> (LSTM) → 20×6")
    assert "80 % zero" in headers[2]
    maps = view.body.findChild(QWidget, "featureMaps")
    assert maps is not None and maps.layout().count() == 64
    assert view.body.findChild(QLabel, "sequenceHeatmap").pixmap().width() > 0
    bars = view.body.findChildren(Bars)
    assert len(bars) == 1 and bars[0].values.size == 10
    bars[0].resize(200, 80)
    bars[0].grab()  # paints without error
    view.show_message("Working…")
    assert view.header_texts() == [] and view.title.text() == "Working…"


def test_overlay_keeps_the_image_where_the_map_is_cold():
    pixels = np.full((4, 4), 200, dtype=np.uint8)
    heat = np.zeros((2, 2))
    heat[0, 0] = 1.0
    rgb = overlay_rgb(pixels, heat)
    assert rgb.shape == (4, 4, 3)
    hot, cold = rgb[0, 0].astype(int), rgb[3, 3].astype(int)
    assert np.abs(cold - 200).max() < 60  # mostly the image
    assert np.abs(hot - cold).max() > 40  # the hot corner is coloured


def test_token_colours_follow_the_sign_and_escape_words():
    text = token_html(["good", "<b>", "bad"], np.array([2.0, 0.0, -1.0]))
    assert "rgba(40,170,80,0.85)" in text  # strongest positive
    assert "&lt;b&gt;" in text
    assert "rgba(220,60,60,0.48)" in text  # half as strong, negative


def test_explanation_cards_for_each_kind(qtbot):
    view = ExplanationView()
    qtbot.addWidget(view)
    image = Sample("image", np.zeros((8, 8, 1), dtype=np.uint8))
    view.show_explanations(
        [
            Why("gradcam", heatmap=np.eye(8), layer="conv2d", sample=image),
            Why("tokens", tokens=["a", "b"], scores=np.array([1.0, -1.0])),
            Why("features", scores=np.arange(64.0), sample=image),  # flattened image
            Why("features", scores=np.array([0.1, -3.0, 2.0]), feature_names=["x", "y", "z"]),
        ],
        "Run 1 · 4 samples",
    )
    assert len(view.cards) == 4
    header = view.cards[0].findChild(QLabel, "explanationHeader").text()
    assert "why <b>yes</b> (p = 0.900) · Grad-CAM over conv2d" in header
    assert view.cards[0].findChild(QLabel, "explanationOverlay") is not None
    assert view.cards[1].findChild(QLabel, "explanationWords").text().count("<span") == 2
    assert view.cards[2].findChild(QLabel, "explanationOverlay") is not None
    bars = view.cards[3].findChild(FeatureBars)
    assert [name for name, _ in bars.rows] == ["y", "z", "x"]  # largest |score| first
    bars.resize(400, 80)
    bars.grab()
