"""The Label page with several people and broken files (issue 17): each browser session labels as itself and
undoes only its own labels; a frame whose file is gone shows the error and the queue moves on."""

from __future__ import annotations

import re

from labeling.store import LabelStore
from tests.helpers.store import add_tiny
from tests.helpers.studio import assert_ok, open_app


def _label_page():
    at = open_app()
    at.switch_page("app_pages/label.py").run()
    assert_ok(at)
    return at


def _shown(at) -> int:
    """The id of the frame the queue shows now."""
    return int(re.search(r": frame (\d+), ", at.get("image")[0].captions[0]).group(1))


def test_each_session_labels_as_itself_and_undoes_only_its_own_labels(studio_env):
    """Before: every session labeled as the login name, so tab B's undo took back tab A's newer label."""
    with LabelStore(studio_env / "labels") as store:
        add_tiny(store, 4, size=32)
    tab_a, tab_b = _label_page(), _label_page()
    b_frame = _shown(tab_b)
    tab_b.button(key="label_chord_C").click().run()  # B labels first ...
    assert_ok(tab_b)
    tab_a.button(key="label_next").click().run()
    a_frame = _shown(tab_a)
    assert a_frame != b_frame
    tab_a.button(key="label_chord_G").click().run()  # ... then A
    assert_ok(tab_a)
    tab_b.button(key="label_undo").click().run()  # B's undo takes back B's label, not A's newer one
    assert_ok(tab_b)
    assert any(f"Undid C on frame {b_frame}" in s.value for s in tab_b.success), [s.value for s in tab_b.success]
    with LabelStore(studio_env / "labels") as store:
        assert store.frame(a_frame).chord == "G" and store.frame(b_frame).chord is None
        authors = {e.author for frame in (a_frame, b_frame) for e in store.history(frame)}
    assert len(authors) == 2 and all(re.fullmatch(r"studio-[0-9a-f]{6}", a) for a in authors), authors
    tab_b.button(key="label_undo").click().run()
    assert any("Nothing of yours to undo" in s.value for s in tab_b.success)

    # A name typed in the sidebar is the author from then on
    tab_a.sidebar.text_input(key="author").input("ann").run()
    named = _shown(tab_a)
    tab_a.button(key="label_chord_A").click().run()
    assert_ok(tab_a)
    with LabelStore(studio_env / "labels") as store:
        assert [(e.chord, e.author) for e in store.history(named)][-1] == ("A", "ann")


def test_a_missing_frame_file_shows_its_error_and_the_queue_moves_on(studio_env):
    """Before: the page stopped with a traceback on the frame, and every later frame was out of reach."""
    with LabelStore(studio_env / "labels") as store:
        ids = add_tiny(store, 3, size=32)
        store.frame(ids[0]).path.unlink()
    at = _label_page()
    errors = [e.value for e in at.error]
    assert any(f"frame {ids[0]}" in e and "cannot be shown" in e for e in errors), errors
    assert at.button(key="label_chord_G").disabled and not at.get("image")
    at.button(key="label_next").click().run()
    assert_ok(at)
    assert _shown(at) == ids[1] and not at.error
    at.button(key="label_chord_G").click().run()
    assert_ok(at)
    with LabelStore(studio_env / "labels") as store:
        assert store.frame(ids[1]).chord == "G" and store.frame(ids[0]).chord is None
