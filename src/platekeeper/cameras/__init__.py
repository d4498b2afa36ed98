"""Fixed and mobile cameras and their API keys."""
