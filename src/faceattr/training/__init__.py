"""S3 training: losses, the training loop, checkpoints and the model file."""
