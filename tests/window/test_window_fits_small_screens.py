"""The window fits a 1024×700 screen whatever tabs it has: a tall central page (Search,
Compare) scrolls instead of making the window taller than the screen (a Search tab made a
1280×800 window 858 px tall, its bottom docks off-screen)."""

from __future__ import annotations


def test_minimum_size_fits_1024x700(window):
    minimum = window.minimumSizeHint()
    assert minimum.width() <= 1024, minimum
    assert minimum.height() <= 700 - 40, minimum  # 40: title bar and borders
    for index in range(window.tabs.count()):
        page = window.tabs.widget(index)
        assert page.minimumSizeHint().height() <= 300, (window.tabs.tabText(index), page)


def test_first_size_is_the_screens_at_most(window, qtbot):
    screen = window.screen().availableGeometry()
    window.layout_builder.fit_to_screen(1280, 800)
    qtbot.wait(50)
    assert window.height() <= max(screen.height(), window.minimumSizeHint().height())
