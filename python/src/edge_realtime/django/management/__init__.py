"""Management commands of the edge-realtime Django app (Django finds them here)."""
