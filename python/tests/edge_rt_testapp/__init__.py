"""A throwaway Django app for the tests of ``edge_realtime.django``: conversations with an
M2M of members, a membership-row model with a soft delete, teams as orgs, wired the way a
project would wire them (``apps.py``), and the membership source the sync command reads."""
