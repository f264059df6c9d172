from engine.textfmt import elapsed_text


def test_elapsed_text_picks_the_unit_a_person_reads():
    assert elapsed_text(4.25) == "4.2 s"
    assert elapsed_text(185) == "3 min 05 s"
    assert elapsed_text(3720) == "1 h 02 min"
