"""Why a chord model answered what it did: occlusion heatmaps of image models, finger attributions of landmark
models. Callers use :mod:`pipeline.explain.service`; one module per algorithm (``occlusion``, ``adaptive``,
``tokens``, ``fingers``); drawing lives in :mod:`pipeline.vision.overlays`."""
