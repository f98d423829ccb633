"""pipeline/explain."""
