"""tools/samplegen."""
