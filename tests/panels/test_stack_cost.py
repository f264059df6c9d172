"""Per-layer cost in the window: the stack rows' MACs column and tooltip (left out of a row too
narrow for it), and the Summary tab's cost table with totals."""

from __future__ import annotations

import keras
from PySide6.QtCore import QRect
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyleOptionViewItem

from app.stack_rows import cost_total, stack_rows
from app.summary_tab import cost_rows
from engine import spec as S
from widgets.cost_table import CostTable
from widgets.stack_model import CostRole, StackModel
from widgets.stack_view import StackView


class FakeDocument:
    """What stack_rows and cost_rows read of a ProjectDocument."""

    catalog = None
    ready = True
    is_functional = False
    signature_note = ""

    def __init__(self, spec, input_signature=None):
        self.project = {"model": spec}
        self.input_signature = input_signature
        self.analysis = S.analyse(spec, input_shape=input_signature)

    def body(self):
        return S.body(self.project["model"])

    def spec_input_shape(self):
        return S.input_shape(self.project["model"])


def cnn_document(input_signature=None):
    spec = S.new_spec((28, 28, 1))
    for i, layer in enumerate(
        [keras.layers.Conv2D(8, 3), keras.layers.MaxPooling2D(), keras.layers.Flatten()]
    ):
        spec = S.insert_layer(spec, i, keras.layers.serialize(layer))
    spec = S.insert_layer(spec, 3, keras.layers.serialize(keras.layers.Dense(10)))
    return FakeDocument(spec, input_signature)


def test_stack_rows_carry_the_cost_and_its_tooltip():
    rows = stack_rows(cnn_document())
    conv, pool, flatten, dense = rows[1:]
    assert conv.cost == "48.7 K MACs"  # 26·26·8·9
    assert pool.cost == "" and flatten.cost == ""  # no multiply-adds: the column stays empty
    assert dense.cost == "13.5 K MACs"  # 13·13·8·10
    assert "Per sample: 48.7 K MACs · parameters 320 B · output 21.1 KiB" in conv.tooltip
    assert "0 MACs (+ 5.4 K comparisons)" in pool.tooltip


def test_costs_use_the_dataset_input_shape_the_analysis_used():
    rows = stack_rows(cnn_document(input_signature=(30, 30, 1)))
    assert rows[1].cost == "56.4 K MACs"  # 28·28·8·9


class RecordingPainter(QPainter):
    def __init__(self, device):
        super().__init__(device)
        self.texts = []

    def drawText(self, *args):
        self.texts.append(args[-1])
        return super().drawText(*args)


def painted_texts(qtbot, width):
    model = StackModel()
    model.set_rows(stack_rows(cnn_document()))
    view = StackView(model)
    qtbot.addWidget(view)
    view.resize(width, 300)
    view.show()
    delegate = view.list.itemDelegate()
    option = QStyleOptionViewItem()
    option.initFrom(view.list)
    option.rect = QRect(0, 0, width, 30)
    image = QImage(width, 30, QImage.Format.Format_ARGB32)
    painter = RecordingPainter(image)
    delegate.paint(painter, option, model.index(1))
    painter.end()
    assert model.index(1).data(CostRole) == "48.7 K MACs"
    return painter.texts


def test_the_macs_column_shows_where_the_row_has_room(qtbot):
    assert "48.7 K MACs" in painted_texts(qtbot, 480)
    narrow = painted_texts(qtbot, 260)
    assert "48.7 K MACs" not in narrow and "80" in narrow  # the parameter count stays


def test_summary_cost_table_rows_and_totals(qtbot):
    rows, totals, note = cost_rows(cnn_document())
    assert [r[1] for r in rows] == ["Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    assert rows[0][2] == f"{26 * 26 * 8 * 9:,}"
    assert rows[1][3] == "5.4 K comparisons"
    assert totals[2] == f"{26 * 26 * 8 * 9 + 13 * 13 * 8 * 10:,} (62.2 K)"
    assert "multiply-adds" in note
    table = CostTable()
    qtbot.addWidget(table)
    table.set_rows(rows, totals, note)
    assert table.table.rowCount() == 5
    assert table.text().splitlines()[-1].startswith("Total\t4 layers\t62,192")


def test_summary_cost_for_a_functional_model_says_why_not():
    document = cnn_document()
    document.is_functional = True
    assert cost_rows(document) == (
        [],
        None,
        "Per-layer cost is worked out for Sequential models only.",
    )


def test_totals_line_gives_the_models_multiply_adds(qtbot):
    document = cnn_document()
    assert cost_total(document) == "62.2 K MACs per sample"
    view = StackView(StackModel())
    qtbot.addWidget(view)
    view.set_totals(1000, 1000, cost_total(document))
    assert view.totalsLabel.text().endswith("·   62.2 K MACs per sample")
    # the longer line wraps in a narrow window instead of widening it (1024 px grew to 1144)
    view.set_totals(122_570, 100_000, "4.5 M MACs per sample")
    assert view.totalsLabel.minimumSizeHint().width() < 300
    spec = S.insert_layer(
        document.project["model"], 0, keras.layers.serialize(keras.layers.Resizing(20, 20))
    )
    assert cost_total(FakeDocument(spec)).startswith("at least ")
