"""S2: bring every face to one canonical framing, then resize and normalise it."""
