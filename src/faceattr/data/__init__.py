"""S1: reading labelled face datasets (CelebA attribute/partition files, CSV) and caching them."""
