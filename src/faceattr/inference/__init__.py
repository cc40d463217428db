"""S4 recognition: running a trained model on new images."""
