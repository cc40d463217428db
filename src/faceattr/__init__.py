"""faceattr: face attribute recognition with a CNN + bidirectional LSTM (CN109190514B)."""

from faceattr.errors import FaceAttrError

__version__ = "0.1.0"
__all__ = ["FaceAttrError", "__version__"]
