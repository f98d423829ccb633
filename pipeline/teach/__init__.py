"""Teach the studio a player's own setup: one short clip per chord becomes a labeled set of frames
(:mod:`pipeline.teach.clips`) and a fused pair of models trained on it (:mod:`pipeline.teach.training`).

It sits above :mod:`pipeline.timeline`: the held-out frames are scored the way an analysis decides them.
"""
