"""The exceptions behind every user-facing failure; the CLI prints each as one line."""


class FaceAttrError(Exception):
    """A problem with the user's input (file, option, model) that has a clear one-line message."""


class UnreadableImage(FaceAttrError):
    """Not an image, or a broken one (the service answers 415)."""


class ImageTooLarge(FaceAttrError):
    """More pixels than :data:`faceattr.preprocess.image.MAX_PIXELS` (the service answers 413)."""
