"""Chord models side by side on the same labeled frames: ``embeddings``, ``maps`` (t-SNE / PCA), the
``comparison`` result, the HTML ``report`` (entry point :func:`pipeline.compare.report.compare_models`) and
``scoring`` (each model, and fused pairs, on a labeled set)."""
