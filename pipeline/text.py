"""Every sentence a user reads that the studio, the Space and the command line share, in one place.

One wording per message: the apps and the command line import these rather than spell their own, so a
message reads the same wherever it is shown. Sentences are plain text or markdown (bold marks the
warning) and take the values they name as arguments.
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.core.types import Analysis, FrameResult, FusionWeights, ModelSet

NO_HAND_IN_FRAME = "No hand was found in this frame: the landmark model cannot decide it."
"""Beside a frame without a fretting hand (a landmark model gives no answer there)."""

NO_HAND_TO_ATTRIBUTE = "No hand was found in this frame, so there is nothing to attribute."
"""Where finger attribution was asked for a frame without a fretting hand."""

STUDIO_TRAIN_REMEDY = "(Models page or `python -m pipeline train`)"
"""How the Streamlit studio's user gets a model for real clips (the ``remedy`` of :func:`synthetic_note`)."""

SPACE_TRAIN_REMEDY = "(`python -m pipeline train`) and set `CHORD_SPACE_MODELS`"
"""How the Space's owner gets a model for real clips (the ``remedy`` of :func:`synthetic_note`)."""

CLI_TRAIN_REMEDY = "(`python -m pipeline train`)"
"""How a command-line user gets a model for real clips (the ``remedy`` of :func:`synthetic_note`)."""

STUDIO_TEACH_REMEDY = "on the Teach page, from one short clip per chord"
"""How the studio's user teaches it their own setup (the ``remedy`` of :func:`unfamiliar_message`)."""

SPACE_TEACH_REMEDY = "in the **Teach** tab, from one short clip per chord"
"""How the Space's visitor teaches it their own setup (the ``remedy`` of :func:`unfamiliar_message`)."""

CLI_TEACH_REMEDY = "with `python -m pipeline teach G.mp4 C.mp4 ... --out DIR`, one short clip per chord"
"""How a command-line user teaches it their own setup (the ``remedy`` of :func:`unfamiliar_message`)."""


def no_hand_at(name: str, time_s: float) -> str:
    """Where one frame of a clip, asked for by time, shows no fretting hand.

    Args:
        name: the clip's file name.
        time_s: the frame's time in seconds.

    Returns:
        One sentence.
    """
    return f"No hand was found in {name} at {time_s:g} s: the landmark model cannot decide it."


def no_hand_message(analysis: Analysis) -> str | None:
    """A message for an analysis in which no sampled frame showed a hand (None when some did).

    Args:
        analysis: a clip's analysis.

    Returns:
        One sentence naming the clip and the number of frames, or None.
    """
    if not analysis.frames or any(f.hands.fretting is not None for f in analysis.frames):
        return None
    return (f"No hand was found in any of the {len(analysis.frames)} sampled frames of "
            f"'{analysis.clip.path.name}': the chord cannot be read without the fretting hand. "
            "Use a clip where the hand on the neck is in view.")


def no_hand_image_decides(frames: int) -> str:
    """Where no sampled frame showed a hand but an image model was chosen too, which decides them all.

    Args:
        frames: the number of sampled frames.

    Returns:
        One sentence.
    """
    return (f"No hand was found in any of the {frames} sampled frames: the landmark model could not decide any; "
            "the image model decides every frame on its own.")


def fretboard_message(analysis: Analysis) -> str | None:
    """A message for an analysis whose detector found no fretboard in any sampled frame (else None).

    Args:
        analysis: a clip's analysis.

    Returns:
        One or two sentences naming the clip and what the image model saw instead, or None when the
        detector did not run or found a fretboard in some frame.
    """
    ran = [f for f in analysis.frames if f.fretboard is not None]
    if not ran or any(not f.fretboard.empty for f in ran):
        return None
    seen = sorted({"whole frame" if f.region.source == "frame" else f"{f.region.source} region"
                   for f in ran if f.region is not None})
    seen = f" The image model saw the {' or the '.join(seen)} instead." if seen else ""
    return (f"The fretboard detector found no fretboard in any of the {len(ran)} sampled frames of "
            f"'{analysis.clip.path.name}'.{seen} Check that the detector was trained on footage like this clip, "
            "or analyse without it.")


MOSTLY_UNFAMILIAR = 0.5
"""A clip is mostly unfamiliar when under this share of its frames with a known familiarity are familiar
(:attr:`pipeline.core.types.Analysis.familiar_share`); the apps and the CLI then say so
(:func:`unfamiliar_message`)."""

UNSURE_LABEL = "unsure: unfamiliar footage"
"""The legend entry of unsure segments and unfamiliar frames in the timeline figure."""


def segment_name(segment) -> str:
    """A timeline segment's chord as the apps name it: "C", or "C (unsure)" on unfamiliar footage."""
    return f"{segment.chord} (unsure)" if segment.unsure else segment.chord


def label_unfamiliar_note(share: float | None) -> str | None:
    """The Label page's warning when the suggesting models find most added frames unfamiliar (else None)."""
    if share is None or share >= MOSTLY_UNFAMILIAR:
        return None
    return (f"The suggesting models find {share:.0%} of these frames familiar: their suggestions here are guesses. "
            f"Label the frames, or teach the models this footage {STUDIO_TEACH_REMEDY}.")


def unfamiliar_message(analysis: Analysis, remedy: str, names: Mapping[str, str] | None = None,
                       markdown: bool = True) -> str | None:
    """What the studio, the Space and the CLI say when a clip is mostly unfamiliar to its models (else None).

    Args:
        analysis: a clip's analysis.
        remedy: how to teach it this footage in this app, e.g. :data:`STUDIO_TEACH_REMEDY`.
        names: model slot ("landmarks", "image") -> the model's name as the app shows it; a slot not
            named reads "the <slot> model".
        markdown: bold the warning (the apps); plain text for the command line.

    Returns:
        Two sentences naming the models that call most frames unfamiliar and the familiar share, or
        None when the share is at least :data:`MOSTLY_UNFAMILIAR` or unknown.
    """
    share = analysis.familiar_share
    if share is None or share >= MOSTLY_UNFAMILIAR:
        return None
    names = names or {}
    by_model = analysis.model_familiar_shares()
    slots = [slot for slot, own in by_model.items() if own < MOSTLY_UNFAMILIAR] or list(by_model)
    who = " and ".join(names.get(slot, f"the {slot} model") for slot in slots) or "the models"
    bold = "**" if markdown else ""
    return (f"{bold}This footage looks unlike what {who} learned from: {100 * share:.0f} % of frames familiar; "
            f"the chords below are guesses.{bold} To get chords you can trust, teach it your setup {remedy}.")


def fusion_note(weights: FusionWeights) -> str:
    """What the apps say about a fused analysis: how each frame's chord is decided, with each model's share.

    Args:
        weights: the fusion weights of the analysis (odds of being right from the models' cards); only
            their ratio matters (:func:`pipeline.timeline.fusion.fuse`), so shares summing to 1 are shown.

    Returns:
        One markdown sentence.
    """
    total = weights.landmarks + weights.image
    return (f"Each frame's chord fuses both models' probabilities (weights from their held-out accuracy: "
            f"landmarks {weights.landmarks / total:.2f}, image {weights.image / total:.2f}); "
            "where no hand is found, the image model decides alone; where a model calls the frame unfamiliar, "
            "its say is that of a coin flip and its answer counts as a guess.")


def synthetic_note(name: str, remedy: str, markdown: bool = True) -> str:
    """What the apps say beside a model trained on synthetic renders (DESIGN: an offline default is honest).

    Args:
        name: the model as the app names it (a model's name, or "This model").
        remedy: how to get a model for real clips in this app, e.g. :data:`STUDIO_TRAIN_REMEDY`.
        markdown: bold the warning (the apps); plain text for the command line.

    Returns:
        Two sentences, the first (the warning) in bold when ``markdown``.
    """
    bold = "**" if markdown else ""
    return (f"{bold}{name} was trained on synthetic renders of the sample clips' scenes, not on real footage:{bold} "
            f"it recognises the sample clips. For your own clips, train a model on real frames {remedy}.")


def model_label(model) -> str:
    """A loaded model as a user names it: what it is and the data set it learned from, never a path
    (e.g. "svm on raw63 features, trained on guitar-chords-real", "cnn (from-scratch), trained on
    synthetic renders")."""
    card = getattr(model, "card", None)
    if card is None:
        return type(model).__name__
    kind = getattr(getattr(card, "kind", None), "value", None) or type(model).__name__
    mode = getattr(card, "mode", "")
    if getattr(card, "estimator", ""):
        what = f"{card.estimator} on {getattr(card, 'feature_version', '')} features"
    elif getattr(card, "backbone", ""):
        what = f"{kind} on {card.backbone.rstrip('/').split('/')[-1]}" + (f" ({mode})" if mode else "")
    else:
        what = kind + (f" ({mode})" if mode else "")
    source = "synthetic renders" if getattr(card, "synthetic", False) else ", ".join(getattr(card, "domains", []))
    return what + (f", trained on {source}" if source else "")


def space_intro(synthetic: bool) -> str:
    """The Space's opening paragraph; the synthetic-model warning only while a synthetic model is in use.

    Args:
        synthetic: whether a model of the Space was trained on synthetic renders (``CHORD_SPACE_MODELS``
            names ``sample``).
    """
    intro = ("Film the hand on the guitar neck; get the chords. Upload or record a clip (or pick a sample below), "
             "press **Analyze**, then explain a frame, listen to the chords on guitar, or suggest a correction.")
    if synthetic:
        intro += (" The default model is trained on **synthetic renders** of the sample clips' scenes: it "
                  "recognises the samples, not real footage.")
    else:
        intro += (" The models are trained on real footage: they know the players, guitars and cameras they "
                  "learned from.")
    return intro


def space_models_note(models: ModelSet) -> str:
    """What the Space says about its models: each one's training data, the fusion and a synthetic warning.

    Args:
        models: the model set that analysed the clip.

    Returns:
        One or more markdown sentences.
    """
    names = [f"{slot}: {model_label(getattr(models, slot))}" for slot in ("landmarks", "image", "detector")
             if getattr(models, slot) is not None]
    note = "Models: " + "; ".join(names) + "."
    if models.landmarks is not None and models.image is not None:
        note += " " + fusion_note(models.weights)
    if models.synthetic:
        note += " " + synthetic_note("This model", SPACE_TRAIN_REMEDY)
    return note


def analysis_summary(name: str, analysis: Analysis, fps: float, seconds: float, image_model: bool,
                     sample: str | None = None, frame_accuracy: float | None = None,
                     segment_f1: float | None = None) -> list[str]:
    """The Space's summary of an analysed clip, one markdown paragraph a line.

    Args:
        name: the clip's file name as uploaded.
        analysis: its analysis.
        fps: frames sampled per second.
        seconds: how long the analysis took.
        image_model: whether an image model ran (the share of decided frames is then given).
        sample: the sample clip it is a copy of, if any (then its score against the ground truth follows).
        frame_accuracy, segment_f1: the timeline's score against the sample's ground truth.

    Returns:
        The paragraphs: counts, the chord sequence, and the sample's score when given.
    """
    hands = analysis.hand_share if analysis.frames else 0.0
    decided = (f", a chord decided in {100 * analysis.coverage:.0f} %" if image_model and analysis.frames else "")
    familiar = analysis.familiar_share
    decided += "" if familiar is None else f", {100 * familiar:.0f} % familiar to the models"
    lines = [f"**{name}**: {len(analysis.frames)} frames sampled at {fps:g} per "
             f"second, a hand in {100 * hands:.0f} % of them{decided}, {len(analysis.timeline.segments)} chord "
             f"segment(s); analysed in {seconds:.1f} s.",
             "Chords: " + (" → ".join(s.chord + ("?" if s.unsure else "") for s in analysis.timeline.segments)
                           or "none")
             + (" (a ? marks a guess: footage unlike what the models learned from)"
                if any(s.unsure for s in analysis.timeline.segments) else "")]
    if sample is not None and frame_accuracy is not None:
        lines.append(f"Sample clip **{sample}**: right {100 * frame_accuracy:.0f} % of the time against "
                     f"its ground truth (segment F1 {segment_f1:.2f}).")
    return lines


def frame_summary(number: int, frame: FrameResult) -> list[str]:
    """What the Space's explain note says first about one analysed frame: its chords and each model's top three.

    Args:
        number: the sampled frame's number in the analysis.
        frame: the frame's result.

    Returns:
        Markdown paragraphs, one a line.
    """
    lines = [f"Frame {number} (source frame {frame.index}) at {frame.time:.2f} s: timeline chord **{frame.chord}**; "
             f"this frame alone **{frame.prediction.chord}** (p {frame.prediction.probability:.2f})."]
    if not frame.prediction.covered:
        lines.append(NO_HAND_IN_FRAME)
    for name, prediction in frame.by_model.items():
        if prediction.covered:
            lines.append(f"{name}: " + ", ".join(f"{c} {p:.2f}" for c, p in prediction.top(3)))
    return lines


def heatmap_note(target: str, probability: float, region: str, seconds: float) -> str:
    """The note beside an image model's occlusion heatmap of a frame.

    Args:
        target: the explained chord.
        probability: the model's probability of it.
        region: what the model saw: "frame", "fretboard" or "hand".
        seconds: how long the heatmap took.

    Returns:
        One markdown paragraph.
    """
    return (f"**Occlusion heatmap** of the image model for **{target}** (p {probability:.2f}"
            f"{'' if region == 'frame' else ', on the region it saw'}): warm regions are "
            f"where covering the frame lowers that chord's probability most; the colour bar on the right gives "
            f"the drop ({seconds:.1f} s).")


def heatmap_caption(model_name: str, attribution) -> str:
    """The caption under an occlusion heatmap: what it explains and how it was computed.

    Args:
        model_name: the model's name.
        attribution: a :class:`pipeline.explain.attribution.Attribution` (``target``,
            ``probability``, ``seconds``, ``settings`` with ``region``, ``window``, ``passes``, ``windows``).
    """
    settings = attribution.settings
    region = settings.get("region", "frame")
    where = "" if region == "frame" else f", on the {region} region it saw"
    size = "x".join(map(str, settings.get("window", []))) or "?"
    passes = settings.get("passes", "?")
    if settings.get("windows", passes) != passes:  # coarse to fine: the rest interpolated
        passes = f"{passes} of {settings['windows']} windows evaluated"
    else:
        passes = f"{passes} passes"
    return (f"{model_name}: occlusion heatmap of p({attribution.target}) = {attribution.probability:.3f}"
            f"{where} (window {size} px, {passes}, {attribution.seconds:.2f} s)")


HEATMAP_SCALE = ("Colour scale (bar at the right): how much covering a spot lowers the target chord's probability, "
                 "from blue (no effect) through green and yellow to red (the largest drop, the value at the top of "
                 "the bar). Red is where the model finds its evidence.")


def no_hand_attribution_note(has_image_model: bool) -> str:
    """The note where finger attribution was asked for a frame without a fretting hand.

    Args:
        has_image_model: whether an image model runs too (then it is suggested).

    Returns:
        One markdown paragraph.
    """
    return (f"**Attribution:** {NO_HAND_TO_ATTRIBUTE} "
            + ("Choose the image model for an occlusion heatmap." if has_image_model else
               "An occlusion heatmap needs an image model (`CHORD_SPACE_MODELS`)."))


def finger_note(target: str, probability: float, scores: dict[str, float], decisive: str,
                has_image_model: bool) -> str:
    """The note beside a landmark model's finger attribution of a frame.

    Args:
        target: the explained chord.
        probability: the model's probability of it.
        scores: finger -> the drop of that probability when the finger is removed.
        decisive: the finger whose removal drops it most.
        has_image_model: whether an image model runs too (then its heatmap is suggested).

    Returns:
        One markdown paragraph.
    """
    ranked = ", ".join(f"{name} {score:+.2f}" for name, score in sorted(scores.items(), key=lambda item: -item[1]))
    aside = ("(An occlusion heatmap needs an image model; this Space runs a landmark model, which reads the "
             "21 hand points, not pixels.)" if not has_image_model else
             "(The landmark model reads the 21 hand points, not pixels; choose the image model for an "
             "occlusion heatmap.)")
    return (f"**Finger attribution** of the landmark model for **{target}** (p {probability:.2f}): "
            f"the drop of its probability when each finger is removed: {ranked}. Most decisive: "
            f"**{decisive}**. {aside}")


def too_small_note(kind: str, target: str, probability: float, evidence: float) -> str:
    """The note shown instead of an explanation whose evidence is too small to draw
    (:func:`pipeline.explain.service.too_small_to_draw`).

    Args:
        kind: "heatmap" (an image model's occlusion map) or "fingers" (a landmark model's finger attribution).
        target: the explained chord.
        probability: the model's probability of it.
        evidence: the largest drop of the map, or the spread (largest minus smallest) of the finger scores.

    Returns:
        One markdown paragraph.
    """
    what = "Occlusion heatmap" if kind == "heatmap" else "Finger attribution"
    if probability < 0.01:
        why = (f"the model gives **{target}** p {probability:.3f}, so there is no evidence for it to show; "
               f"pick a chord the model considers, or (the top chord)")
    elif kind == "heatmap":
        why = (f"covering any part of the picture lowers p({target}) by at most {evidence:.3f}, too little "
               f"to draw: the model's answer does not depend on one place in the picture")
    else:
        why = (f"removing any one finger changes p({target}) about equally (the scores differ by at most "
               f"{evidence:.3f}), so no finger decided it: the model's answer rests on the hand as a whole")
    return f"**{what}: nothing to draw** for **{target}** (p {probability:.2f}): {why}."


def teach_summary(accuracy: Mapping[str, float], n_train: int, n_held_out: int, seconds: float) -> str:
    """One line on a teaching session: frames, time, and the held-out accuracy of each model and fused."""
    names = {"landmarks": "landmarks", "image": "CNN", "fused": "fused"}
    scores = ", ".join(f"{names.get(k, k)} {v:.0%}" for k, v in accuracy.items())
    return (f"Taught from {n_train} frames in {seconds:.0f} s; on the held-out end of each clip "
            f"({n_held_out} frames): {scores or 'nothing held out'}.")


def teach_counts_line(chord: str, sampled: int, kept: int, dark: int, blurred: int, duplicates: int,
                      no_hand: int) -> str:
    """What the checks did with one chord's frames."""
    return (f"{chord}: {kept} of {sampled} frames kept ({dark} too dark, {blurred} blurred, "
            f"{duplicates} near-duplicates; {no_hand} kept without a hand)")


TEACH_INTRO = ("Teach the studio your guitar: one short clip per chord (4 s or more, the fretting hand in view), "
               "named after its chord (`G.mp4`, `Am-2.mov`) or with the chord chosen beside it. A landmark model "
               "and a CNN learn your setup; the last quarter of each clip scores them.")
"""The Teach page's and tab's introduction."""

FROM_FILE_NAME = "(from the file name)"
"""The chord choice beside an uploaded clip that reads the chord from its file name."""

TEACH_TAKES_HELP = ("Record a take per chord with your browser's camera: choose its chord, press the red button "
                    "and hold the chord, the fretting hand in view, until it stops. Takes are taught with the uploads.")
"""The help of the Teach page's camera switch."""


def teach_take_line(name: str, chord: str) -> str:
    """A recorded take in the Teach page's list."""
    return f"Camera take **{name}**: {chord}"


def space_taught_note(name: str, trained_on: str) -> str:
    """The Space's Teach tab after teaching: the taught pair now analyses this session's clips.

    Args:
        name: the taught setup's name.
        trained_on: the cards' sentence on what the pair learned from ("taught from 3 clips: G.mp4, ...").
    """
    return (f"**{name}** (a landmark model and a CNN, {trained_on}) now analyses your clips in this session: "
            "press **Analyze** above. Other visitors keep the Space's models; your clips and models go when "
            "the session ends.")


SPACE_TEACH_TAB = ("Teach the Space your guitar: one short clip per chord (4 s or more, the fretting hand in view), "
                   "named after its chord (`G.mp4`, `Am-2.mov`); or one clip with its chords and times; or record "
                   "takes with your camera, choosing each take's chord. A landmark model and a CNN learn your "
                   "setup (the last quarter of each clip scores them) and analyse your clips in this session.")
"""The Space's Teach tab's introduction."""


def teach_done(name: str, stored: int) -> str:
    """After teaching: the taught pair is the active one, and where its frames went."""
    return (f"**{name}** is now the active pair of models (landmarks and CNN); {stored} of its frames were added "
            "to the label store, to review and correct in Label.")


MAP_CLICK_HINT = "Click a point of a map to see its frame here, with its true chord and each model's answer."
"""Compare's frame panel before a point is clicked."""


def map_frame_lines(number: int, name: str, truth: str, answers: Mapping[str, object]) -> list[str]:
    """What Compare shows beside the maps for a clicked frame: its name and true chord, then each model's answer.

    Args:
        number: the frame's index in the compared set.
        name: the frame's file name.
        truth: its true chord.
        answers: model name -> :class:`~pipeline.core.types.ChordPrediction`.

    Returns:
        Markdown lines, one per model after the first.
    """
    lines = [f"Frame {number} (`{name}`): true chord **{truth}**"]
    for model, answer in answers.items():
        if not answer.covered:
            lines.append(f"- {model}: no prediction (no hand found)")
        else:
            verdict = "right" if answer.chord == truth else "wrong"
            lines.append(f"- {model}: **{answer.chord}** (p = {answer.probability:.3f}, {verdict})")
    return lines


PERSONAL_RETRAIN_INTRO = ("Your labels here retrain a taught model (Teach): the landmark part at once (seconds), the "
                          "CNN in the background (minutes; this page keeps working). The retrained pair becomes the "
                          "active models.")
"""Label's retrain panel, above its controls."""


def personal_retrained(name: str, part: str, n_train: int, corrections: int, accuracy: Mapping[str, float],
                       cv_accuracy: float | None, seconds: float) -> str:
    """One line on a retrained part (landmarks or CNN) of a taught model: frames, corrections, time and scores.

    Args:
        name: the taught folder's name.
        part: ``"landmarks"`` or ``"cnn"``.
        n_train: frames trained on.
        corrections: of those (and the held-out ones), frames whose label a person set in Label.
        accuracy: held-out accuracy by ``"landmarks"``, ``"image"``, ``"fused"`` (empty: nothing held out).
        cv_accuracy: cross-validated accuracy on the training frames, when the part has one.
        seconds: wall time.
    """
    names = {"landmarks": "landmarks", "image": "CNN", "fused": "fused"}
    scores = ", ".join(f"{names.get(k, k)} {v:.0%}" for k, v in accuracy.items())
    held = f"on the held-out frames: {scores}" if scores else "no frames held out"
    cv = f"; cross-validated {cv_accuracy:.0%}" if cv_accuracy is not None else ""
    return (f"Retrained {name}/{part} on {n_train} frames ({corrections} labels set in Label) in {seconds:.0f} s; "
            f"{held}{cv}.")


def personal_cnn_running(name: str, job: int, progress: str) -> str:
    """Label's note while a taught model's CNN retrains in the background."""
    return (f"The CNN of {name} is retraining in the background (job {job}): {progress or 'starting'}. "
            "Rerun or come back later; the new CNN is used once it is done.")


def personal_cnn_failed(name: str, reason: str) -> str:
    """Label's note when a background CNN retrain failed: the previous CNN stays."""
    return f"Retraining the CNN of {name} failed ({reason}); its previous CNN is kept."


NO_TAUGHT_MODEL = "No taught model yet: teach one on the Teach page from a short clip per chord, then correct it here."
"""Label's retrain panel when no taught folder is found."""


LIVE_INTRO = ("The chord your camera sees, a few times a second, by the models chosen below (as Analyze decides a "
              "frame). Practice: pick a chord and hold it; the light turns green once the camera has seen it in "
              "enough frames in a row.")
"""The studio's Live page's introduction."""

CAMERA_WAITING = "Waiting for the camera: allow this page to use it when the browser asks."
"""Live before the camera's first picture."""


def camera_problem(reason: str) -> str:
    """Live when the browser gives no camera (none attached, permission refused, or a page that is neither
    on localhost nor https)."""
    return (f"The camera is unavailable ({reason}). Live needs a camera and your permission to use it, and the "
            "browser allows cameras only on http://localhost or https pages.")


def live_lines(reading, names: Mapping[str, str], seconds: float) -> list[str]:
    """What Live writes under the camera for the latest frame: the chord, then each model's answer.

    Args:
        reading: a :class:`pipeline.timeline.live.LiveReading`.
        names: model slot ("landmarks", "image") -> the model's name.
        seconds: how long the frame took to decide.

    Returns:
        Markdown lines.
    """
    if not reading.covered:
        head = "No chord: no hand in view" if reading.by_model.keys() <= {"landmarks"} else "No chord"
    else:
        head = f"**{reading.chord}** (p = {reading.probability:.2f})"
        if reading.familiar is False:
            head += ", a guess: the models do not know footage like this"
    lines = [f"{head} · {seconds * 1000:.0f} ms"]
    for slot, answer in reading.by_model.items():
        said = f"**{answer.chord}** ({answer.probability:.2f})" if answer.covered else "no hand found"
        lines.append(f"- {names.get(slot, slot)}: {said}")
    return lines


def practice_line(target: str, streak: int, hold: int, held: int, light: str) -> str:
    """Live's practice status: the chord, the streak against the frames it needs, and the times it was held."""
    state = {"green": "held", "amber": "in view", "red": "not in view"}[light]
    return (f"Practising **{target}**: {state}, {min(streak, hold)} of {hold} frames in a row; "
            f"held {held} time{'s' if held != 1 else ''} so far.")
