"""Video in and out: probe a clip, stream its frames at a chosen rate, write frames to a clip.

Frames are RGB ``uint8`` arrays of shape (height, width, 3) everywhere in the pipeline; OpenCV's BGR
stays inside this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from pipeline.errors import InputError


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float, quality: int = 23) -> Path:
    """Encode RGB frames as an H.264 MP4 that browsers play (yuv420p, even size, faststart).

    Streams: frames are encoded as they come, never all held. Uses the ffmpeg binary that the
    ``imageio-ffmpeg`` wheel carries, so no system ffmpeg is needed.

    Args:
        path: output file; its suffix decides the container (``.mp4`` recommended).
        frames: RGB uint8 arrays of one shape (height, width, 3).
        fps: frames per second.
        quality: x264 CRF, 0 (lossless) to 51 (worst); 23 is x264's default.

    Returns:
        The path written.

    Raises:
        InputError: no frames were given, or a frame's shape differs from the first.
    """
    import imageio_ffmpeg

    path = Path(path)
    writer = None
    size = None
    try:
        for frame in frames:
            frame = np.ascontiguousarray(frame, dtype=np.uint8)
            if writer is None:
                height, width = frame.shape[:2]
                size = (width - width % 2, height - height % 2)  # yuv420p needs even sides
                writer = imageio_ffmpeg.write_frames(
                    str(path), size, fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=None,
                    output_params=["-crf", str(quality), "-movflags", "+faststart"], macro_block_size=1,
                )
                writer.send(None)
            if (frame.shape[1] - frame.shape[1] % 2, frame.shape[0] - frame.shape[0] % 2) != size or frame.ndim != 3:
                raise InputError(f"Frame of shape {frame.shape} differs from the first frame's size {size}.")
            writer.send(np.ascontiguousarray(frame[: size[1], : size[0], :3]))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise InputError("No frames to write.")
    return path
