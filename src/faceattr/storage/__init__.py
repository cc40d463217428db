"""Where images are stored: files, and tar shards read in place (below every other layer)."""
