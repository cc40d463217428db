"""faceattr: face attribute recognition with a CNN + bidirectional LSTM (CN109190514B)."""

from typing import TYPE_CHECKING

from faceattr.errors import FaceAttrError

__version__ = "0.1.0"
__all__ = ["FaceAttrError", "Prediction", "Recognizer", "Result", "__version__", "draw"]

if TYPE_CHECKING:
    from faceattr.inference.annotate import draw
    from faceattr.inference.recognizer import Prediction, Recognizer
    from faceattr.results import Result


def __getattr__(name: str):
    """Import the API lazily, so ``faceattr --help`` stays fast."""
    if name in ("Recognizer", "Prediction"):
        from faceattr.inference import recognizer

        return getattr(recognizer, name)
    if name == "Result":
        from faceattr.results import Result

        return Result
    if name == "draw":
        from faceattr.inference.annotate import draw

        return draw
    raise AttributeError(f"module 'faceattr' has no attribute {name!r}")
