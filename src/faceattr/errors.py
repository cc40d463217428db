"""The exceptions behind every user-facing failure; the CLI prints each as one line."""


class FaceAttrError(Exception):
    """A problem with the user's input (file, option, model) that has a clear one-line message."""


class UnreadableImage(FaceAttrError):
    """Not an image, or a broken one (the service answers 415)."""


class ImageTooLarge(FaceAttrError):
    """More pixels than :data:`faceattr.preprocess.image.MAX_PIXELS` (the service answers 413)."""


class FaceAttrWarning(UserWarning):
    """Something a user should know about an input that is still read (an animated picture of
    which only the first frame is read, ...); the CLI prints each as a ``note:`` line."""


def show_warnings_as_notes() -> None:
    """Print :class:`FaceAttrWarning` as one ``note:`` line on stderr (CLI and its workers);
    other warnings keep Python's own format."""
    import sys
    import warnings

    original = warnings.showwarning
    if getattr(original, "faceattr", False):
        return

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, FaceAttrWarning):
            print(f"note: {message}", file=sys.stderr)
        else:
            original(message, category, filename, lineno, file, line)

    show.faceattr = True  # type: ignore[attr-defined]
    warnings.showwarning = show
