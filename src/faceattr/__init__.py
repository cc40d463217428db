"""faceattr: face attribute recognition with a CNN + bidirectional LSTM (CN109190514B)."""

from typing import TYPE_CHECKING

from faceattr.errors import FaceAttrError

__version__ = "0.1.0"
__all__ = ["FaceAttrError", "Prediction", "Recognizer", "__version__"]

if TYPE_CHECKING:
    from faceattr.inference.recognizer import Prediction, Recognizer


def __getattr__(name: str):
    """Import the API lazily, so ``faceattr --help`` stays fast."""
    if name in ("Recognizer", "Prediction"):
        from faceattr.inference import recognizer

        return getattr(recognizer, name)
    raise AttributeError(f"module 'faceattr' has no attribute {name!r}")
