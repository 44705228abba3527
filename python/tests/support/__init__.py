"""Test support: a scripted local HTTP server, the Worker under test, the OpenAPI check."""
