"""Every video the apps show or offer plays in a browser (issue 18, defect 1): H.264 in yuv420p, whatever the
clip's own codec; the Space's intro and model names say what its models are (defect 8)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

import gradio_app
from pipeline.audio.mux import render_listen_outputs
from pipeline.models.registry import load_model_set
from pipeline.samples import ground_truth
from pipeline.text import space_intro, space_models_note
from pipeline.vision.video import video_codec

SAMPLES = Path(__file__).resolve().parents[2] / "sample_media"


@pytest.fixture(scope="module")
def mpeg4_clip(tmp_path_factory) -> Path:
    """3 s of the progression sample as MPEG-4 Part 2 video (what many phones and cameras write)."""
    out = tmp_path_factory.mktemp("mpeg4") / "phone.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-i", str(SAMPLES / "progression.mp4"),
                    "-t", "3", "-c:v", "mpeg4", "-an", str(out)], check=True)
    assert video_codec(out)[0] == "mpeg4"
    return out


def test_listen_muxes_an_mpeg4_clip_as_h264(mpeg4_clip, tmp_path):
    """Before: the MPEG-4 Part 2 stream was copied into the muxed clip, which browsers show blank."""
    result = render_listen_outputs(ground_truth(SAMPLES / "progression.mp4"), tmp_path, clip=mpeg4_clip,
                                   synth="pluck", name="chords")
    assert video_codec(result.mp4) == ("h264", "yuv420p")


def test_listen_still_copies_an_h264_clip(tmp_path):
    clip = SAMPLES / "progression.mp4"
    assert video_codec(clip) == ("h264", "yuv420p")
    result = render_listen_outputs(ground_truth(clip), tmp_path, clip=clip, synth="pluck", name="chords")
    assert video_codec(result.mp4) == ("h264", "yuv420p")


def test_space_upload_preview_is_h264(mpeg4_clip, tmp_path):
    """Before: the Space's preview of an MPEG-4 Part 2 upload said "Video not playable"."""
    upload = tmp_path / mpeg4_clip.name
    upload.write_bytes(mpeg4_clip.read_bytes())
    shown = gradio_app.preview_upload(str(upload))
    assert video_codec(shown) == ("h264", "yuv420p")
    assert gradio_app.preview_upload(str(SAMPLES / "progression.mp4")) == str(SAMPLES / "progression.mp4")


def test_space_text_names_models_and_drops_the_synthetic_warning_for_real_models():
    """Before: "Models:" showed a training-data path, and the intro warned of synthetic renders whatever ran."""
    assert "synthetic renders" in space_intro(True) and "synthetic renders" not in space_intro(False)
    note = space_models_note(load_model_set([None]))
    assert note.startswith("Models: landmarks: svm on raw63 features, trained on synthetic renders"), note
    assert "/" not in note.split(".")[0], note
