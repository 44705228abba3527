"""The mapping from an HTTP error answer to the typed errors."""

from __future__ import annotations

import pytest

import edge_realtime as rt
from edge_realtime.errors import error_from_response


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, rt.BadRequest),
        (401, rt.Unauthorized),
        (403, rt.Forbidden),
        (404, rt.NotFound),
        (405, rt.MethodNotAllowed),
        (409, rt.Conflict),
        (413, rt.PayloadTooLarge),
        (415, rt.UnsupportedMediaType),
        (422, rt.Unprocessable),
        (429, rt.RateLimited),
        (500, rt.ServerError),
        (503, rt.Unavailable),
        (418, rt.EdgeRealtimeError),
    ],
)
def test_each_status_has_its_class(status: int, cls: type) -> None:
    err = error_from_response(status, '{"error":{"code":"x_code","message":"why"}}')
    assert type(err) is cls
    assert (err.status, err.code, err.message) == (status, "x_code", "why")
    assert str(err) == f"{status} x_code: why"


def test_a_body_without_the_contract_shape_keeps_its_text() -> None:
    err = error_from_response(502, "<html>Bad gateway</html>")
    assert type(err) is rt.ServerError
    assert (err.code, err.message, err.body) == (None, "HTTP 502: <html>Bad gateway</html>", "<html>Bad gateway</html>")


def test_every_error_is_an_edge_realtime_error_and_retryable_ones_are_listed() -> None:
    assert issubclass(rt.Unavailable, rt.ServerError)
    assert all(issubclass(c, rt.EdgeRealtimeError) for c in rt.RETRYABLE_ERRORS)
    assert set(rt.RETRYABLE_ERRORS) == {rt.NetworkError, rt.RateLimited, rt.ServerError}
    assert not rt.Unprocessable.retryable and rt.Unavailable.retryable
