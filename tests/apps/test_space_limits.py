"""The Space's endpoints (``gradio_app.demo`` through ``gradio_client``) with the same kinds of bad input as
the command line's fuzz table (issue 17, defects 5, 10, 11, 12): each ends in a ``gr.Error`` (an ``AppError``
with the message), never a traceback; a rejected upload leaves no request folder, and Gradio refuses an
upload over ``CHORD_STUDIO_MAX_UPLOAD_MB`` before storing it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers.space import running_space, space_client

REPO = Path(__file__).resolve().parents[2]
NO_HAND = REPO / "sample_media" / "no_hand.mp4"
STILL = REPO / "sample_media" / "chord_G.jpg"


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    """The demo launched as ``python gradio_app.py`` launches it (``launch_options``), uploads up to 1 MB."""
    folder = tmp_path_factory.mktemp("space-limits")
    with running_space(folder, {"CHORD_STUDIO_MAX_UPLOAD_MB": "1"}, limits=True) as url:
        yield url, folder


_client = space_client


def _upload(client, path: Path, fps: float = 5):
    from gradio_client import handle_file

    return client.predict(handle_file(str(path)), fps, api_name="/analyze")


def _requests(folder: Path) -> list[Path]:
    return sorted((folder / "requests").glob("req-*"))


def _bad_uploads(tmp: Path) -> dict[str, tuple[Path, float, str]]:
    """name -> (file, fps, words of the error)."""
    def write(name: str, data: bytes) -> Path:
        (tmp / name).write_bytes(data)
        return tmp / name

    return {
        "text": (write("notes.txt", b"C G Am F\n"), 5, "not a video or image"),
        "corrupt": (write("broken.mp4", b"\x00\x01garbage" * 100), 5, "broken.mp4"),
        "truncated-to-nothing": (write("cut.mp4", NO_HAND.read_bytes()[:2000]), 5, "cut.mp4"),
        "empty": (write("empty.webm", b""), 5, "empty"),
    }


@pytest.mark.parametrize("kind", ["text", "corrupt", "truncated-to-nothing", "empty"])  # (the client cannot send
# a NaN or infinite fps: JSON has none)
def test_a_rejected_upload_is_a_clear_error_and_leaves_no_request_folder(space, tmp_path, kind):
    from gradio_client.exceptions import AppError

    url, folder = space
    before = _requests(folder)
    path, fps, words = _bad_uploads(tmp_path)[kind]
    with pytest.raises(AppError) as raised:
        _upload(_client(url), path, fps)
    assert words in str(raised.value) and "Traceback" not in str(raised.value)
    assert _requests(folder) == before  # nothing of the rejected upload stays on disk


def test_an_image_over_the_pixel_cap_is_refused_before_decoding(space, tmp_path, monkeypatch):
    from gradio_client.exceptions import AppError

    url, folder = space
    before = _requests(folder)
    monkeypatch.setenv("CHORD_STUDIO_MAX_PIXELS", "1000")  # the sample still is 640 x 360
    with pytest.raises(AppError, match=r"640 x 360 pixels .*CHORD_STUDIO_MAX_PIXELS"):
        _upload(_client(url), STILL)
    assert _requests(folder) == before


def test_an_upload_over_the_size_limit_is_refused_by_gradio_before_it_is_stored(space, tmp_path):
    url, folder = space
    big = tmp_path / "big.mp4"
    big.write_bytes(NO_HAND.read_bytes() + b"\0" * (2 * 2**20))  # 2 MB, the limit is 1 MB
    before = _requests(folder)
    with pytest.raises(Exception, match="(?i)file size|too large|413|exceeds"):
        _upload(_client(url), big)
    assert _requests(folder) == before


def test_bad_values_for_the_other_endpoints_are_clear_errors(space, tmp_path):
    from gradio_client.exceptions import AppError

    url, _ = space
    client = _client(url)
    clip = tmp_path / "Übung – G.mp4"  # a non-ASCII name is accepted
    shutil.copy(NO_HAND, clip)
    _upload(client, clip)
    for args, api, words in [
        ((3, "zzz"), "/suggest_correction", "zzz"),
        (("nosuchpattern", "steel", 0, 0), "/listen", "nosuchpattern"),
        (("folk", "steel", 0, 5.0), "/listen", "greater than maximum value 1"),
        (("folk", "steel", 1e9, 0), "/listen", "greater than maximum value 300"),
    ]:
        with pytest.raises(AppError) as raised:
            client.predict(*args, api_name=api)
        assert words in str(raised.value) and "Traceback" not in str(raised.value), (api, args)
