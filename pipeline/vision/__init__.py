"""pipeline/vision."""
