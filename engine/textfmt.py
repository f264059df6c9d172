"""Plain-text formatting shared by the CLI, the log and the widgets (Keras-free)."""

from __future__ import annotations


def elapsed_text(seconds: float) -> str:
    """'42.1 s', '3 min 05 s', '1 h 02 min'."""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
