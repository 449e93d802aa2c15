"""pytest fixtures for testing code that uses miogram-async against the fake service."""
