"""pipeline/audio."""
