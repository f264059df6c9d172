"""A splitter that lays its panes side by side when it is wide and stacks them otherwise."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

SIDE_BY_SIDE_RATIO = 1.6  # side by side when width > this × height


class AdaptiveSplitter(QSplitter):
    """Horizontal when ``width > SIDE_BY_SIDE_RATIO × height``, vertical otherwise.

    On each switch the first pane gets ``first_share`` of the length; the user's own
    splitter drags are kept until the orientation changes again.
    """

    def __init__(self, first_share: float = 0.5, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Vertical, parent)
        self.first_share = first_share
        self.setChildrenCollapsible(False)

    def side_by_side(self) -> bool:
        return self.orientation() == Qt.Orientation.Horizontal

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        wide = self.width() > SIDE_BY_SIDE_RATIO * self.height()
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.orientation() == orientation:
            return
        self.setOrientation(orientation)
        extent = self.width() if wide else self.height()
        first = round(extent * self.first_share)
        self.setSizes([first, extent - first])
