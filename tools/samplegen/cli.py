"""Command line of the sample-media generator: ``python -m tools.samplegen --out sample_media``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from pipeline.core.errors import InputError
from tools.samplegen.datasets import make_image_folder, make_yolo_dataset
from tools.samplegen.samples import write_sample_media

DESCRIPTION = "Synthetic guitar footage with exact ground truth: frames, clips, image folders and YOLO data sets."
"""What ``--help`` says the generator does."""


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the sample media, or write a training set.

    ``python -m tools.samplegen --out sample_media`` writes the committed samples;
    ``--images DIR --per-class N`` writes an ImageFolder; ``--yolo DIR --train N --val M`` a YOLO set.

    Args:
        argv: the arguments (None: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 done, 2 an input error (printed).
    """
    parser = argparse.ArgumentParser(prog="python -m tools.samplegen", description=DESCRIPTION)
    parser.add_argument("--out", type=Path, help="write the sample media (clips, truth, still, README) here")
    parser.add_argument("--images", type=Path, help="write an ImageFolder of rendered frames here")
    parser.add_argument("--per-class", type=int, default=40, help="frames per chord for --images")
    parser.add_argument("--yolo", type=Path, help="write a YOLO fretboard detection data set here")
    parser.add_argument("--train", type=int, default=200, help="training images for --yolo")
    parser.add_argument("--val", type=int, default=50, help="validation images for --yolo")
    parser.add_argument("--seed", type=int, default=0, help="seed for --images and --yolo")
    args = parser.parse_args(argv)
    if not (args.out or args.images or args.yolo):
        parser.error("give --out, --images or --yolo")
    try:
        if args.out:
            for path in write_sample_media(args.out):
                print(path)
        if args.images:
            written = make_image_folder(args.images, args.per_class, seed=args.seed)
            print(f"{len(written)} images in {args.images}")
        if args.yolo:
            print(make_yolo_dataset(args.yolo, args.train, args.val, seed=args.seed))
    except InputError as error:
        print(f"error: {error}")
        return 2
    return 0
