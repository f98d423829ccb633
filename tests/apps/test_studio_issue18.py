"""The studio as a user meets it (issue 18): Label's CSV export and snapshot, its caption and shortcuts."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from labeling.store import LabelStore
from pipeline.core.chords import VOCABULARY
from pipeline.models.catalogue import chord_keys, label_chords
from tests.helpers.store import add_tiny
from tests.helpers.studio import analyze_sample, assert_ok, open_app


def _downloaded(at, key: str) -> bytes:
    """The bytes the export's download button offers: the prepared file (its suffix must match the URL's)."""
    url = next(d for d in at.get("download_button") if d.key == key).proto.url
    path = Path(at.session_state["export_file"][2])
    assert url.endswith(path.suffix), (url, path)
    return path.read_bytes()


def _label_page(studio_env, frames: int = 4):
    with LabelStore(studio_env / "labels") as store:
        add_tiny(store, frames, size=32)
    at = open_app()
    at.switch_page("app_pages/label.py").run()
    assert_ok(at)
    return at


def test_csv_export_downloads_csv_and_a_new_snapshot_is_selected(studio_env):
    """Before: "A CSV export needs a .csv file name", then the earlier YOLO zip offered as ...-csv.zip;
    and the snapshot just taken was not the one selected for export."""
    at = _label_page(studio_env)
    at.button(key="label_chord_C").click().run()
    at.text_input(key="snapshot_name").input("first").run()
    at.button(key="snapshot_take").click().run()
    at.selectbox(key="export_format").select("imagefolder").run()
    at.button(key="export_prepare").click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    assert _downloaded(at, "export_download")[:2] == b"PK"  # a zip
    at.text_input(key="snapshot_name").input("second").run()
    at.button(key="snapshot_take").click().run()
    assert at.selectbox(key="export_snapshot").value == "second"
    assert not at.get("download_button")  # the first snapshot's zip is not offered for the second
    at.selectbox(key="export_format").select("csv").run()
    at.button(key="export_prepare").click().run()
    assert_ok(at)
    assert not at.error, [e.value for e in at.error]
    button = next(d for d in at.get("download_button") if d.key == "export_download")
    assert button.proto.url.endswith(".csv")
    rows = list(csv.reader(io.StringIO(_downloaded(at, "export_download").decode("utf-8"))))
    assert len(rows) >= 2 and "C" in [cell for row in rows[1:] for cell in row], rows[:3]


def test_frame_caption_is_not_a_link_and_shortcuts_are_plain_keys(studio_env):
    """Before: a source like progression.mp4@7.000s rendered as a mailto link; chords past the tenth had
    Shift+digit shortcuts, which type other characters on many keyboard layouts."""
    at = _label_page(studio_env)
    caption = at.get("image")[0].proto.imgs[0].caption
    assert "`tiny-" in caption, caption  # the source sits in a code span: markdown makes no link of it
    keys = chord_keys(label_chords(VOCABULARY))
    assert len(set(keys.values())) == len(keys) >= 11
    assert all(len(k) == 1 and k not in "CRZ" for k in keys.values()), keys


def test_explain_this_frame_keeps_the_analysis_of_a_model_typed_into_the_sidebar(studio_env, tiny_model,
                                                                                  monkeypatch):
    """Before: with any model but the default ones, "Explain this frame" landed on "Analyze a clip first":
    the page switch dropped the sidebar's widget state (the model folders and the chosen models)."""
    monkeypatch.delenv("CHORD_STUDIO_MODELS")
    at = open_app()
    at.sidebar.text_area(key="model_folders").input(str(tiny_model)).run()
    at.sidebar.multiselect(key="models").set_value(["tiny"]).run()
    analyze_sample(at, "progression.mp4")
    at.button(key="explain_frame_button").click().run()
    assert_ok(at)
    assert [t.value for t in at.title] == ["Explain a frame"]
    assert not any("Analyze a clip first" in i.value for i in at.info), [i.value for i in at.info]
    assert at.sidebar.multiselect(key="models").value == ["tiny"]
