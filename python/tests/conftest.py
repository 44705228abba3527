"""Shared fixtures: the Worker under test (started once per session, see
``support.worker``) and clients pointed at it whose every answer is checked against
``docs/openapi.yaml``."""
