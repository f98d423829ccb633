"""pipeline/models."""
