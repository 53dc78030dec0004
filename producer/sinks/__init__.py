"""Where events go: files (offline) and Redis Streams (live)."""
