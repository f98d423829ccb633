"""The review queue's order (issue 16: frames where the models disagree or are least sure come first), on a store
whose predictions are known: the exact order, ties broken by clip and time."""

from __future__ import annotations

from labeling.ingest import ModelRef, add_clip
from labeling.queue import review_queue
from labeling.records import ClipInfo, NewFrame, NewPrediction
from labeling.store import LabelStore
from pipeline.core.config import SAMPLE_MEDIA_DIR
from pipeline.core.types import ModelSet
from pipeline.models.image.loading import load_image_model
from pipeline.models.landmark import LandmarkChordModel
from pipeline.timeline.analyze import predict_image_files
from tests.helpers.store import tiny_png
from tests.helpers.tiny_models import tiny_cnn, tiny_landmark_model


def _frame(i: int, time: float, *answers: tuple[str, str, float, bool]) -> NewFrame:
    return NewFrame(source=f"clip@{time}", data=tiny_png(i, 32), ext=".png", time=time,
                    predictions=tuple(NewPrediction(m, "1", c, p, covered) for m, c, p, covered in answers))


def test_disagreement_then_least_sure_then_clip_time(tmp_path):
    with LabelStore(tmp_path / "store") as store:
        # stored out of time order, so the order below is the queue's, not the insertion's
        ids = store.add_frames([
            _frame(0, 0.0, ("lm", "C", 0.9, True), ("cnn", "C", 0.8, True)),   # agree, sure
            _frame(1, 1.0, ("lm", "G", 0.95, True), ("cnn", "C", 0.9, True)),  # disagree, both sure
            _frame(2, 2.0, ("lm", "A", 0.4, True)),                              # unsure
            _frame(3, 3.0, ("lm", "A", 0.6, True), ("cnn", "G", 0.5, True)),   # disagree, less sure
            _frame(4, 5.0),                                                       # no model has seen it
            _frame(5, 4.0, ("lm", "C", 0.0, False), ("cnn", "C", 0.99, True)),  # no hand for one: not sure
            _frame(6, 6.0, ("lm", "D", 0.7, True), ("cnn", "D", 0.7, True)),   # agree, fairly sure
        ], ClipInfo("lesson")).frame_ids
        order = [ids.index(item.frame_id) for item in review_queue(store, near_duplicate_bits=-1)]
        assert order == [3, 1, 5, 4, 2, 6, 0]
        items = review_queue(store, near_duplicate_bits=-1)
        assert [(i.disagreement, round(i.confidence, 2)) for i in items] == [
            (True, 0.5), (True, 0.9), (False, 0.0), (False, 0.0), (False, 0.4), (False, 0.7), (False, 0.8)]
        # one model's view only: its answers alone decide (no disagreement within one model)
        assert [ids.index(i.frame_id) for i in review_queue(store, model="lm", near_duplicate_bits=-1)] == [
            5, 2, 3, 6, 0, 1]

        # labeled frames: a label a model disputes comes before a less sure one that agrees
        store.set_label(ids[0], "G", author="ann")  # both models said C (sure)
        store.set_label(ids[2], "A", author="ann")  # the model said A (unsure)
        assert [ids.index(i.frame_id) for i in review_queue(store, status="labeled")] == [0, 2]
        assert [ids.index(i.frame_id) for i in review_queue(store, status="conflict")] == [0]


def test_a_fused_pair_stores_each_models_answer_so_the_queue_sees_them_disagree(tmp_path):
    landmarks = LandmarkChordModel.load(tiny_landmark_model(tmp_path / "tiny"))
    image = load_image_model(tiny_cnn(tmp_path / "cnn"))
    pair = ModelSet(landmarks=landmarks, image=image)
    ref = ModelRef.of(pair, "tiny + cnn (fused)", ["tiny", "cnn"])
    with LabelStore(tmp_path / "store") as store:
        ids = add_clip(store, SAMPLE_MEDIA_DIR / "progression.mp4", fps=1.0, model=ref, workers=1).frame_ids
        paths = [store.frame(i).path for i in ids]
        fused, by_model = predict_image_files(pair, paths, workers=1)
        differ = {}
        for k, frame_id in enumerate(ids):
            stored = store.predictions(frame_id)  # newest first: the pair's answer, then the members'
            assert [p.model for p in stored] == ["tiny + cnn (fused)", "cnn", "tiny"]
            assert [(p.chord, p.covered) for p in stored] == [
                (fused[k].chord, fused[k].covered), (by_model["image"][k].chord, by_model["image"][k].covered),
                (by_model["landmarks"][k].chord, by_model["landmarks"][k].covered)]
            differ[frame_id] = len({p.chord for p in stored if p.covered}) > 1
        assert any(differ.values())  # the random CNN and the tiny landmark model disagree
        # frames of another clip with one model's answer alone: nothing to disagree on
        alone = add_clip(store, SAMPLE_MEDIA_DIR / "strumming_em_d.mp4", fps=1.0, workers=1, on_duplicate="skip",
                         model=ModelRef.of(landmarks, "tiny")).frame_ids
        differ.update({frame_id: False for frame_id in alone})
        items = review_queue(store, near_duplicate_bits=-1)
        assert {i.frame_id for i in items} == set(differ)
        assert [i.disagreement for i in items] == sorted((differ[i.frame_id] for i in items), reverse=True)
        assert all(i.disagreement == differ[i.frame_id] for i in items)
        # one model alone stores its answer alone, as before
        with LabelStore(tmp_path / "single") as single:
            one = add_clip(single, SAMPLE_MEDIA_DIR / "progression.mp4", fps=1.0, workers=1,
                           model=ModelRef.of(landmarks, "tiny", ["tiny", "cnn"])).frame_ids
            assert [p.model for p in single.predictions(one[0])] == ["tiny"]
