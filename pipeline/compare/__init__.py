"""pipeline/compare."""
