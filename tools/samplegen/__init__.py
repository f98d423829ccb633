"""The synthetic sample-media generator: guitar footage with exact ground truth (not loaded at run time).

The project ships no real footage, so its tests, README and apps use clips that this package renders:
a guitar neck seen from in front of the player (fretboard with frets, six strings, inlay dots, nut and
headstock), slightly angled, and a shaded fretting hand whose fingertips sit on the strings and frets
of each chord's voicing. Everything is drawn with numpy and OpenCV and is deterministic given a seed.

Modules, bottom up:

* :mod:`~tools.samplegen.scene`     the neck's geometry (mm) and the camera, colours and light of a scene
* :mod:`~tools.samplegen.pose`      the 21-joint fretting hand posed for a chord (fingerings, inverse kinematics)
* :mod:`~tools.samplegen.backdrop`  the static layer: wall, torso, guitar neck and headstock
* :mod:`~tools.samplegen.render`    a frame: the shaded hand over the backdrop, with its ground truth
* :mod:`~tools.samplegen.clips`     clips of a progression, with timeline and fretboard boxes beside them
* :mod:`~tools.samplegen.datasets`  image folders and YOLO fretboard data sets of rendered frames
* :mod:`~tools.samplegen.samples`   the committed sample media (``sample_media/``)
* :mod:`~tools.samplegen.cli`       the command line
* :mod:`~tools.samplegen.sample_landmarks`  the sample model's training hands (run as a module)

Command line: ``python -m tools.samplegen --out sample_media`` regenerates the committed samples;
``--images DIR --per-class N`` writes an ImageFolder, ``--yolo DIR --train N --val M`` a YOLO set.
"""
