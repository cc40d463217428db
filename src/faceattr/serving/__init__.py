"""The web service (FastAPI) and its page."""
