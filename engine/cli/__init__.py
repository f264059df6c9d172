"""Headless command-line commands. None of them imports Qt.

Each module has ``add_arguments(parser)`` and ``run(args) -> int`` (the exit status).
A ``LayerLabError`` becomes one line on stderr and exit status 2 (see ``main.py``).
"""
