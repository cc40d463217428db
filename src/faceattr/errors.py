"""One exception type for every user-facing failure; the CLI prints it as one line."""


class FaceAttrError(Exception):
    """A problem with the user's input (file, option, model) that has a clear one-line message."""
