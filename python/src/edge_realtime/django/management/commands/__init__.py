"""``edge_realtime_sync_members``: see ``edge_realtime.django.sync``."""
