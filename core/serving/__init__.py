"""Serving: the prediction service (FastAPI app factory) and what it accepts."""
