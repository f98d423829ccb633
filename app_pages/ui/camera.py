"""The browser camera, shared by Live and Teach: a small ``st.components.v2`` component over ``getUserMedia``.

The camera stays in the browser and its live picture plays there. Live asks for one frame (a JPEG) a few times
a second and draws the chord the models decided over the picture; Teach shows a record button that takes a few
seconds of frames and sends them at once, which :func:`save_take` encodes as an H.264 clip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import streamlit as st

from pipeline.core.errors import InputError
from pipeline.timeline.live import picture_bytes
from pipeline.vision.video import write_video

CAMERA_HTML = """
<div class="live">
  <video autoplay muted playsinline></video>
  <canvas class="overlay"></canvas>
  <div class="chord"></div>
  <div class="light" title="practice light"></div>
  <button class="record" type="button" style="display: none"></button>
  <p class="message">Starting the camera...</p>
</div>
"""

CAMERA_CSS = """
.live { position: relative; width: 100%; max-width: 720px; font-family: sans-serif; }
.live video { width: 100%; display: block; background: #222; border-radius: 6px; min-height: 120px; }
.live canvas.overlay { position: absolute; left: 0; top: 0; width: 100%; height: 100%; pointer-events: none; }
.live .chord { position: absolute; left: 12px; top: 8px; font-size: 44px; font-weight: 700; color: #fff;
               text-shadow: 0 0 6px #000, 0 0 2px #000; }
.live .light { position: absolute; right: 14px; top: 14px; width: 34px; height: 34px; border-radius: 50%;
               border: 3px solid #fff; box-shadow: 0 0 6px #000; display: none; }
.live .light.red { background: #d62728; display: block; }
.live .light.amber { background: #ffb000; display: block; }
.live .light.green { background: #2ca02c; display: block; box-shadow: 0 0 18px #2ca02c; }
.live .record { margin: 6px 0; padding: 6px 14px; border-radius: 6px; border: 1px solid #d62728; color: #fff;
                background: #d62728; font-size: 15px; cursor: pointer; }
.live .record:disabled { opacity: 0.5; cursor: default; }
.live .message { color: var(--st-text-color, #333); margin: 4px 0; font-size: 14px; }
"""

# Keeps its camera and timer on the component's parent across reruns (the function runs again with each
# answer). Live (data.running): a frame goes when the last one is answered (data.seq), or after 4 s without an
# answer. Teach (data.take_seconds): the record button takes data.take_seconds of frames at data.take_fps and
# sends them in one 'take' trigger with data.take_chord; "Saving the take..." shows until data.take_handled (a
# count of the takes Python handled) changes. Leaving the page stops the camera.
CAMERA_JS = """
export default function (component) {
  const { data, setStateValue, setTriggerValue, parentElement } = component;
  const root = parentElement.querySelector('.live');
  const video = root.querySelector('video');
  const message = root.querySelector('.message');
  const record = root.querySelector('.record');
  const grab = (quality) => {
    const scale = Math.min(1, 640 / video.videoWidth);
    const canvas = document.createElement('canvas');
    canvas.width = Math.round(video.videoWidth * scale); canvas.height = Math.round(video.videoHeight * scale);
    canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
    return canvas.toDataURL('image/jpeg', quality);
  };
  let live = parentElement.__chordLive;
  if (!live) {
    live = parentElement.__chordLive = { sent: 0, sentAt: 0, stream: null, timer: null, takes: 0, recording: false };
    const fail = (reason) => {
      message.textContent = 'Camera unavailable: ' + reason; setStateValue('camera', 'error: ' + reason);
    };
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      fail('this browser offers no camera here (the page must be on localhost or https)');
    } else {
      navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 360 } }, audio: false })
        .then((stream) => {
          live.stream = stream; video.srcObject = stream; video.play().catch(() => {});
          message.textContent = ''; setStateValue('camera', 'on');
        })
        .catch((error) => fail((error && error.name ? error.name + ': ' : '') + (error && error.message || error)));
    }
    live.stop = () => {
      clearInterval(live.timer);
      if (live.stream) live.stream.getTracks().forEach((t) => t.stop());
      if (parentElement.__chordLive === live) delete parentElement.__chordLive;
    };
    live.timer = setInterval(() => {
      if (!root.isConnected) { live.stop(); return; }  // the page was left: the camera goes off
      const d = live.data || {};
      record.disabled = live.recording || !live.stream || !video.videoWidth;
      if (!live.stream || !d.running || video.readyState < 2 || !video.videoWidth) return;
      const now = Date.now();
      if (now - live.sentAt < (d.interval_ms || 333)) return;
      if ((d.seq || 0) < live.sent && now - live.sentAt < 4000) return;
      live.sent += 1; live.sentAt = now;
      setTriggerValue('frame', { seq: live.sent, picture: grab(0.85) });
    }, 50);
    record.addEventListener('click', () => {
      const d = live.data || {};
      if (live.recording || !live.stream || !video.videoWidth || !d.take_seconds) return;
      const fps = d.take_fps || 15, total = Math.max(1, Math.round(d.take_seconds * fps)), chord = d.take_chord;
      const frames = [], started = Date.now();
      live.recording = true; record.disabled = true;
      const next = () => {
        if (!root.isConnected || !live.stream) { live.recording = false; return; }
        frames.push(grab(0.9));
        const left = Math.max(0, d.take_seconds - (Date.now() - started) / 1000);
        message.textContent = 'Recording ' + chord + '... ' + left.toFixed(1) + ' s';
        if (frames.length < total) {
          setTimeout(next, Math.max(0, started + frames.length * 1000 / fps - Date.now()));
          return;
        }
        live.recording = false; live.takes += 1; live.saving = d.take_handled || 0;
        message.textContent = 'Saving the take...';
        setTriggerValue('take', { seq: live.takes, fps: fps, chord: chord, frames: frames });
      };
      next();
    });
  }
  live.data = data || {};
  const d = live.data;
  record.style.display = d.take_seconds ? '' : 'none';
  record.textContent = d.take_label || 'Record';
  if (live.saving !== undefined && (d.take_handled || 0) !== live.saving) {  // Python has handled the take
    message.textContent = ''; live.saving = undefined;
  }
  root.querySelector('.chord').textContent = d.chord ? d.chord + (d.familiar === false ? '?' : '') : '';
  const light = root.querySelector('.light');
  light.className = 'light' + (d.light ? ' ' + d.light : '');
  const overlay = root.querySelector('canvas.overlay');
  overlay.width = video.clientWidth; overlay.height = video.clientHeight;
  const g = overlay.getContext('2d');
  g.clearRect(0, 0, overlay.width, overlay.height);
  g.fillStyle = '#00e5ff';
  for (const [x, y] of (d.hand || [])) {
    g.beginPath(); g.arc(x * overlay.width, y * overlay.height, 4, 0, 7); g.fill();
  }
  // Unmounted: stop once the view is gone (a new answer runs this function again on the same view instead).
  return () => setTimeout(() => { if (!root.isConnected) live.stop(); }, 0);
}
"""


def camera(**kwargs):
    """Mount the camera component (``key``, ``data``, ``on_frame_change``/``on_take_change``/``on_camera_change``
    callbacks, ``default``, as :func:`st.components.v2.component`'s mount takes them); returns its result."""
    component = st.components.v2.component("chord_live_camera", html=CAMERA_HTML, css=CAMERA_CSS, js=CAMERA_JS)
    return component(**kwargs)


def save_take(pictures: Sequence[str], fps: float, path: str | Path) -> Path:
    """Encode a take the camera sent (its frames as JPEG or PNG ``data:`` URLs) as an H.264 MP4 at ``path``.

    Args:
        pictures: the frames, in order.
        fps: the frames per second they were taken at.
        path: the clip to write.

    Returns:
        The path written.

    Raises:
        InputError: no frames, a frame that is not a picture, or frames of different sizes.
    """
    if not pictures:
        raise InputError("The camera sent an empty take: record again once the picture shows.")
    if not 1 <= float(fps) <= 60:
        raise InputError(f"A take at {fps} frames per second cannot be right (1 to 60 expected).")

    def frames():
        for picture in pictures:
            image = cv2.imdecode(np.frombuffer(picture_bytes(picture), np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                raise InputError("A frame of the take could not be decoded.")
            yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    try:
        return write_video(path, frames(), float(fps))
    except BaseException:
        Path(path).unlink(missing_ok=True)
        raise


__all__ = ["CAMERA_CSS", "CAMERA_HTML", "CAMERA_JS", "camera", "save_take"]
