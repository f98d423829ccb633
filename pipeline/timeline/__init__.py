"""pipeline/timeline."""
