"""S3 network: front-end CNN -> attribute-task sequence -> BiLSTM (or FC) head -> (B, T, 2)."""

from faceattr.models.config import ModelConfig
from faceattr.models.faceattr_net import FaceAttrNet

__all__ = ["FaceAttrNet", "ModelConfig"]
