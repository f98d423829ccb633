"""The one environment parser (:func:`pipeline.core.config.read_env`) and the settings read through it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipeline.core.config import SpaceSettings, StudioSettings, get_settings, read_env
from pipeline.core.errors import InputError


@pytest.mark.parametrize(("raw", "default", "expected"), [
    (None, 5.0, 5.0), ("", 5.0, 5.0), ("  ", 2, 2), ("2.5", 5.0, 2.5), (" 3 ", 2, 3), ("-1", 1.0, -1.0),
    ("~/x", Path("/d"), Path("~/x").expanduser()), (f"a{os.pathsep} {os.pathsep}b", (), ("a", "b")),
    (os.pathsep, ("sample",), ("sample",)), ("owner/name", None, "owner/name"), ("text", "d", "text"),
])
def test_a_setting_is_read_as_the_type_of_its_default(monkeypatch, raw, default, expected):
    if raw is None:
        monkeypatch.delenv("CHORD_TEST_SETTING", raising=False)
    else:
        monkeypatch.setenv("CHORD_TEST_SETTING", raw)
    value = read_env("CHORD_TEST_SETTING", default)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(("raw", "default", "positive", "why"), [
    ("nan", 5.0, False, "not finite"), ("inf", 5.0, False, "not finite"), ("-inf", 5.0, True, "not above zero"),
    ("abc", 5.0, False, "is not a number"), ("2.5", 2, False, "is not a whole number"),
    ("0", 5.0, True, "not above zero"), ("-3", 2, True, "not above zero"),
])
def test_a_number_setting_that_is_not_a_finite_number_is_refused_naming_the_variable(monkeypatch, raw, default,
                                                                                      positive, why):
    monkeypatch.setenv("CHORD_TEST_SETTING", raw)
    with pytest.raises(InputError, match=why) as caught:
        read_env("CHORD_TEST_SETTING", default, positive=positive)
    message = str(caught.value)
    assert message.startswith(f"CHORD_TEST_SETTING={raw!r} ") and "\n" not in message


def test_the_studio_and_space_settings_keep_their_variables_and_defaults(monkeypatch, tmp_path):
    for name in ("CHORD_STUDIO_MAX_UPLOAD_MB", "CHORD_STUDIO_MAX_SECONDS", "CHORD_STUDIO_MAX_PIXELS",
                 "CHORD_STUDIO_MODELS", "CHORD_STUDIO_FPS",
                 "CHORD_SPACE_MODELS", "CHORD_SPACE_DETECTOR", "CHORD_SPACE_LABELS_REPO", "HF_TOKEN",
                 "CHORD_SPACE_CONCURRENCY", "CHORD_SPACE_TMP", "CHORD_STUDIO_DATA"):
        monkeypatch.delenv(name, raising=False)
    assert StudioSettings() == StudioSettings(max_upload_mb=200.0, max_seconds=300.0, models=(), fps=5.0)
    space = SpaceSettings()
    assert (space.models, space.detector, space.labels_repo, space.token, space.concurrency) == (
        ("sample",), None, None, None, 2)
    monkeypatch.setenv("CHORD_STUDIO_FPS", "2")
    monkeypatch.setenv("CHORD_STUDIO_MODELS", os.pathsep.join(["a", "b"]))
    monkeypatch.setenv("CHORD_SPACE_CONCURRENCY", "4")
    monkeypatch.setenv("CHORD_STUDIO_HOME", str(tmp_path))
    assert StudioSettings().fps == 2.0 and StudioSettings().models == ("a", "b")
    assert SpaceSettings().concurrency == 4 and get_settings().data_dir == tmp_path / "labels"
    monkeypatch.setenv("CHORD_STUDIO_MAX_SECONDS", "nan")
    with pytest.raises(InputError, match="CHORD_STUDIO_MAX_SECONDS"):
        StudioSettings()
    monkeypatch.setenv("CHORD_SPACE_CONCURRENCY", "two")
    with pytest.raises(InputError, match="CHORD_SPACE_CONCURRENCY"):
        SpaceSettings()


@pytest.mark.parametrize("name", ["CHORD_STUDIO_MAX_UPLOAD_MB", "CHORD_STUDIO_MAX_SECONDS", "CHORD_STUDIO_MAX_PIXELS"])
@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "0"])
def test_no_studio_limit_can_be_switched_off_with_nan_or_inf(monkeypatch, name, raw):
    """Issue 17, defect 12: every CHORD_STUDIO_MAX_* is a finite number above zero, or refused naming it."""
    monkeypatch.setenv(name, raw)
    with pytest.raises(InputError, match=f"^{name}="):
        StudioSettings()


def test_the_pixel_cap_defaults_to_50_mp_and_reads_scientific_notation(monkeypatch):
    monkeypatch.delenv("CHORD_STUDIO_MAX_PIXELS", raising=False)
    assert StudioSettings().max_pixels == 50e6
    monkeypatch.setenv("CHORD_STUDIO_MAX_PIXELS", "2e6")
    assert StudioSettings().max_pixels == 2e6
