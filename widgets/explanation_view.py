"""Why a model predicted what it did, drawn: Grad-CAM as a heat map over the image, words
coloured by their score (green pushed the class up, red down), or bars for the features that
mattered most. ``ExplanationView.show_explanations(items)`` takes
``engine.inspect_model.Explanation`` objects (plain numpy; no Keras here).
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from widgets.activation_view import lookup_table, rgb_pixmap, scaled_indices
from widgets.card_column import CardColumn

IMAGE_SIZE = 160
TOP_FEATURES = 20
OVERLAY_ALPHA = 0.5


def overlay_rgb(pixels, heat: np.ndarray) -> np.ndarray:
    """The image ``pixels`` (uint8 H×W or H×W×C) with ``heat`` (H×W, 0..1) laid over it in
    viridis colours; H×W×3 uint8. A heat map of another size is resized (nearest)."""
    image = np.asarray(pixels)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image[:, :, :3].astype(np.float64)
    heat = np.asarray(heat, dtype=np.float64)
    if heat.shape != image.shape[:2]:
        rows = (np.arange(image.shape[0]) * heat.shape[0] // image.shape[0]).clip(
            0, heat.shape[0] - 1
        )
        cols = (np.arange(image.shape[1]) * heat.shape[1] // image.shape[1]).clip(
            0, heat.shape[1] - 1
        )
        heat = heat[rows][:, cols]
    colours = lookup_table()[scaled_indices(heat, 0.0, 1.0)].astype(np.float64)
    alpha = OVERLAY_ALPHA * np.clip(heat, 0.0, 1.0)[:, :, None] + 0.15
    return np.clip(image * (1 - alpha) + colours * alpha, 0, 255).astype(np.uint8)


def _image_pixels(sample):
    if getattr(sample, "kind", "") == "image":
        return np.asarray(sample.value)
    return None


def token_html(tokens: list[str], scores: np.ndarray) -> str:
    """Words as HTML spans, background green (pushed the class up) or red (down), the
    stronger the larger the score."""
    scores = np.asarray(scores, dtype=np.float64)
    peak = float(np.max(np.abs(scores))) if scores.size else 0.0
    spans = []
    for word, score in zip(tokens, scores, strict=True):
        strength = 0.0 if peak == 0 else min(1.0, abs(score) / peak)
        color = (40, 170, 80) if score >= 0 else (220, 60, 60)
        alpha = round(0.1 + 0.75 * strength, 2)
        spans.append(
            f'<span style="background-color: rgba({color[0]},{color[1]},{color[2]},{alpha});"'
            f' title="{score:+.4g}">{html.escape(word)}</span>'
        )
    return " ".join(spans)


class FeatureBars(QWidget):
    """Horizontal bars: the features with the largest |score|, names on the left."""

    def __init__(self, names: list[str], scores: np.ndarray, parent: QWidget | None = None):
        super().__init__(parent)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        order = np.argsort(-np.abs(scores), kind="stable")[:TOP_FEATURES]
        self.rows = [(names[i], float(scores[i])) for i in order]
        self.setMinimumHeight(18 * len(self.rows) + 4)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(420, 18 * len(self.rows) + 4)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        if not self.rows:
            return
        text_color = self.palette().color(QPalette.ColorRole.Text)
        name_width = min(180, max(60, self.width() // 3))
        peak = max(abs(score) for _, score in self.rows) or 1.0
        half = (self.width() - name_width - 70) / 2
        middle = name_width + half
        for i, (name, score) in enumerate(self.rows):
            y = 2 + 18 * i
            painter.setPen(text_color)
            painter.drawText(
                QRectF(0, y, name_width - 6, 16),
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                name[:28],
            )
            length = half * abs(score) / peak
            color = QColor(40, 170, 80) if score >= 0 else QColor(220, 60, 60)
            x = middle if score >= 0 else middle - length
            painter.fillRect(QRectF(x, y + 2, max(1.0, length), 12), color)
            painter.setPen(text_color)
            painter.drawText(
                QRectF(middle + half + 4, y, 66, 16),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                f"{score:+.3g}",
            )
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.drawLine(int(middle), 0, int(middle), self.height())
        painter.end()


def _card(explanation) -> QWidget:
    card = QFrame()
    card.setObjectName("explanationCard")
    card.setFrameShape(QFrame.Shape.StyledPanel)
    layout = QVBoxLayout(card)
    probability = (
        f" (p = {explanation.probability:.3f})" if explanation.probability is not None else ""
    )
    kind = {
        "gradcam": f"Grad-CAM over {explanation.layer}",
        "tokens": "gradient × input per word",
        "features": "gradient × input per feature",
    }.get(explanation.kind, explanation.kind)
    head = QLabel(
        f"<b>{html.escape(explanation.title or 'sample')}</b> — why "
        f"<b>{html.escape(explanation.class_name)}</b>{probability} · {kind}"
    )
    head.setObjectName("explanationHeader")
    head.setWordWrap(True)
    layout.addWidget(head)
    pixels = _image_pixels(explanation.sample)
    if explanation.kind == "gradcam" and explanation.heatmap is not None:
        layout.addLayout(_image_row(pixels, explanation.heatmap))
    elif explanation.kind == "tokens" and explanation.tokens is not None:
        words = QLabel(token_html(explanation.tokens, explanation.scores))
        words.setObjectName("explanationWords")
        words.setTextFormat(Qt.TextFormat.RichText)
        words.setWordWrap(True)
        layout.addWidget(words)
    elif explanation.scores is not None:
        scores = np.asarray(explanation.scores)
        if pixels is not None and scores.size == pixels.shape[0] * pixels.shape[1]:
            # A flattened image (the digits MLP): the saliency as a map over the pixels.
            heat = np.clip(scores.reshape(pixels.shape[:2]), 0, None)
            peak = float(heat.max())
            layout.addLayout(_image_row(pixels, heat / peak if peak > 0 else heat))
        else:
            names = explanation.feature_names or [f"input {i}" for i in range(scores.size)]
            layout.addWidget(FeatureBars(list(names), scores.reshape(-1)))
    if explanation.note:
        note = QLabel(f"<i>{html.escape(explanation.note)}</i>")
        note.setWordWrap(True)
        layout.addWidget(note)
    return card


def _image_row(pixels, heat: np.ndarray) -> QHBoxLayout:
    row = QHBoxLayout()
    heat = np.asarray(heat, dtype=np.float64)
    if pixels is not None:
        overlay = QLabel()
        overlay.setObjectName("explanationOverlay")
        overlay.setPixmap(rgb_pixmap(overlay_rgb(pixels, heat), IMAGE_SIZE))
        overlay.setToolTip("the sample with the map laid over it")
        row.addWidget(overlay)
    alone = QLabel()
    alone.setObjectName("explanationHeatmap")
    alone.setPixmap(rgb_pixmap(lookup_table()[scaled_indices(heat, 0.0, 1.0)], IMAGE_SIZE))
    alone.setToolTip("where the class score came from (bright: most)")
    row.addWidget(alone)
    row.addStretch(1)
    return row


class ExplanationView(CardColumn):
    """A scrolling column of explanation cards."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(
            "explanationView", "Pick a sample to see why the model predicted what it did.", parent
        )

    @property
    def cards(self) -> list:
        return self.items

    def show_explanations(self, explanations, title: str = "") -> None:
        self._clear()
        self.title.setText(title)
        for explanation in explanations:
            card = _card(explanation)
            self.items.append(card)
            self.column.addWidget(card)
        self.column.addStretch(1)
