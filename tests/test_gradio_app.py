"""The Space demo driven for real: `gradio_app.demo` launched on a free port, every endpoint called
through `gradio_client` with a sample clip; bad uploads get a clear error; two clients analysing at
once each get their own results. A tiny landmark model trained here stands in for the sample model.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from pipeline.landmark_model import train_landmark_model
from tests.browser import free_port
from tests.test_landmark_model import _frames

REPO = Path(__file__).resolve().parent.parent
PROGRESSION = REPO / "sample_media" / "progression.mp4"
NO_HAND = REPO / "sample_media" / "no_hand.mp4"
STRUM = REPO / "sample_media" / "strumming_em_d.mp4"


def tiny_space_env(folder: Path) -> dict[str, str]:
    """Train a tiny landmark model on constructed hands; the environment that points the Space at it."""
    results, labels = _frames(10, seed=3)
    model = train_landmark_model(results, labels, feature_versions=("raw63",), estimators=("svm",), folds=2,
                                 trained_on="constructed hands (test)")
    model_dir = model.save(folder / "tiny-model")
    return {"CHORD_SPACE_MODELS": str(model_dir), "CHORD_STUDIO_DATA": str(folder / "labels"),
            "CHORD_SPACE_TMP": str(folder / "requests"), "CHORD_SPACE_LABELS_REPO": "", "HF_TOKEN": ""}


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The demo running on a free port with the tiny model; yields its URL."""
    folder = tmp_path_factory.mktemp("gradio-app")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in tiny_space_env(folder).items():
            patch.setenv(key, value)
        import gradio_app

        gradio_app.reset_models()
        port = free_port()
        gradio_app.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
        try:
            yield f"http://127.0.0.1:{port}/", folder
        finally:
            gradio_app.demo.close()
            gradio_app.reset_models()


def _client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def _analyze(client, clip: Path, fps: int = 5):
    from gradio_client import handle_file

    return client.predict(handle_file(str(clip)), fps, api_name="/analyze")


def test_every_endpoint_through_the_client(app_url):
    url, folder = app_url
    client = _client(url)
    names = set(client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/analyze", "/explain", "/listen", "/suggest_correction"} <= names

    video, plot, table, summary, slider = _analyze(client, PROGRESSION)
    # outputs that carry subtitles come back as updates: {"value": mp4, "subtitles": vtt}
    assert Path(video["value"]).suffix == ".mp4" and Path(video["value"]).stat().st_size > 0
    assert Path(video["subtitles"]).read_text().startswith("WEBVTT")
    assert table["headers"] == ["start (s)", "end (s)", "chord", "mean probability"] and table["data"]
    assert table["data"][-1][1] == pytest.approx(10.0, abs=0.25)
    assert "50 frames sampled" in summary and "progression.mp4" in summary
    assert "against its ground truth" in summary  # the sample clip is recognised by its bytes
    assert slider["maximum"] == 49 and slider["value"] == 0
    figure = json.loads(plot["plot"])
    assert {trace["name"] for trace in figure["data"]} >= {row[2] for row in table["data"]}

    image, label, heatmap, note = client.predict(3, "(the top chord)", api_name="/explain")
    assert Path(image).stat().st_size > 0
    assert "Frame 3" in note
    assert label["label"] in {"A", "C", "G", "None"}
    assert abs(sum(c["confidence"] for c in label["confidences"]) - 1) < 1e-6
    # a landmark model reads points, not pixels: its explanation is the fingers' attribution, never a fake heatmap
    assert heatmap["label"].startswith("Finger attribution: ") and Path(heatmap["value"]).stat().st_size > 0
    assert "Finger attribution" in note and "occlusion heatmap needs an image model" in note
    _, _, heatmap, note = client.predict(3, "C", api_name="/explain")
    assert heatmap["label"] == "Finger attribution: C" and "for **C**" in note

    wav, muxed, files, listen_note = client.predict("folk", "steel", 0, 0.0, api_name="/listen")
    assert Path(wav).suffix == ".wav" and Path(wav).stat().st_size > 10_000
    assert Path(muxed["value"]).suffix == ".mp4" and Path(muxed["subtitles"]).read_text().startswith("WEBVTT")
    assert {Path(f).suffix for f in files} >= {".mid", ".wav", ".mp4", ".srt", ".vtt"}
    assert "BPM" in listen_note

    message = client.predict(3, "Em", api_name="/suggest_correction")
    assert "Recorded **Em**" in message and "local label store" in message
    from labeling.store import LabelStore

    with LabelStore(folder / "labels") as store:
        frames = store.frames()
        assert len(frames) == 1 and frames[0].chord == "Em" and frames[0].source.startswith("space:progression.mp4@")
    # the same frame again: one frame, a new label
    assert "Recorded **D**" in client.predict(3, "D", api_name="/suggest_correction")
    with LabelStore(folder / "labels") as store:
        assert [f.chord for f in store.frames()] == ["D"]


def test_bad_uploads_and_calls_out_of_order_get_clear_errors(app_url, tmp_path):
    from gradio_client.exceptions import AppError

    url, _ = app_url
    client = _client(url)
    with pytest.raises(AppError, match="Analyze a clip first"):
        client.predict(0, "(the top chord)", api_name="/explain")
    text = tmp_path / "notes.txt"
    text.write_text("not a video")
    with pytest.raises(AppError, match="not a video or image"):
        _analyze(client, text)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x01garbage" * 100)
    with pytest.raises(AppError, match="broken.mp4"):
        _analyze(client, broken)
    _analyze(client, NO_HAND)
    with pytest.raises(AppError, match="greater than maximum value 14"):  # Gradio checks the slider
        client.predict(999, "C", api_name="/suggest_correction")


def test_two_clients_at_once_get_their_own_results(app_url):
    url, _ = app_url
    alone = {clip: _analyze(_client(url), clip)[2]["data"] for clip in (PROGRESSION, STRUM)}
    assert alone[PROGRESSION] != alone[STRUM]
    results: dict[Path, object] = {}
    errors: list[BaseException] = []

    def work(clip: Path) -> None:
        try:
            client = _client(url)
            video, _, table, summary, _ = _analyze(client, clip)
            wav, _, _, _ = client.predict("down", "nylon", 100, 0.0, api_name="/listen")
            results[clip] = (table["data"], summary, Path(video["value"]).read_bytes(), Path(wav).read_bytes())
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(clip,)) for clip in (PROGRESSION, STRUM)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    for clip in (PROGRESSION, STRUM):
        table, summary, video, wav = results[clip]
        assert table == alone[clip] and clip.name in summary
    assert results[PROGRESSION][2] != results[STRUM][2] and results[PROGRESSION][3] != results[STRUM][3]


def test_space_settings_and_label_push(monkeypatch, tmp_path):
    from pipeline import space

    monkeypatch.delenv("CHORD_SPACE_MODELS", raising=False)
    assert space.get_space_settings().models == ("sample",)
    assert space.resolve_model_spec("sample") is None and space.resolve_model_spec(str(tmp_path)) == str(tmp_path)
    assert space.gpu(len) is len and space.gpu(duration=5)(len) is len  # no-op without `spaces`
    image = tmp_path / "f.jpg"
    image.write_bytes(b"jpeg")
    record = {"digest": "ab" * 32, "chord": "C"}
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert "local label store" in space.push_label(record, image)

    calls = []

    class FakeApi:
        def __init__(self, token):
            calls.append(("token", token))

        def upload_file(self, **kwargs):
            calls.append((kwargs["path_in_repo"], kwargs["repo_id"], kwargs["repo_type"]))

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setenv("HF_TOKEN", "secret")
    monkeypatch.setenv("CHORD_SPACE_LABELS_REPO", "someone/chord-labels")
    assert "pushed to the dataset someone/chord-labels" in space.push_label(record, image)
    assert calls == [("token", "secret"), (f"suggestions/{'ab' * 32}.jpg", "someone/chord-labels", "dataset"),
                     (f"suggestions/{'ab' * 32}.json", "someone/chord-labels", "dataset")]
    assert "secret" not in repr(space.get_space_settings())
