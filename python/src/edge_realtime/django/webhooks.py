"""A Django view that receives the Worker's webhooks: verifies the signature with
``EDGE_REALTIME["WEBHOOK_SECRET"]`` (400 when it does not check out), then calls the
handlers registered for the event's type, and answers 204. A handler that raises makes the
view answer 500, so the Worker retries the event later (same ``webhook-id``).

    from edge_realtime.django.webhooks import receiver, webhook_view

    @receiver("user.offline")
    def went_offline(event):
        User.objects.filter(pk=event.data["user_id"]).update(is_online=False)

    urlpatterns = [path("hooks/edge/", webhook_view)]
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..webhooks import Event, WebhookVerificationError, verify

__all__ = ["receiver", "webhook_view", "handlers"]

Handler = Callable[[Event], None]

#: Handlers by event type; ``"*"`` receives every event.
handlers: dict[str, list[Handler]] = defaultdict(list)


def receiver(*types: str) -> Callable[[Handler], Handler]:
    """Registers the decorated function for these event types (none: every event)."""

    def register(fn: Handler) -> Handler:
        for t in types or ("*",):
            handlers[t].append(fn)
        return fn

    return register


def _secret() -> str:
    conf = getattr(settings, "EDGE_REALTIME", {}) or {}
    secret = conf.get("WEBHOOK_SECRET")
    if not secret:
        raise RuntimeError('EDGE_REALTIME["WEBHOOK_SECRET"] is not set')
    return secret


@csrf_exempt
@require_POST
def webhook_view(request: HttpRequest) -> HttpResponse:
    """``204`` once every handler ran; ``400`` for a request that does not verify."""
    try:
        event = verify(_secret(), request.headers, request.body)
    except WebhookVerificationError as e:
        return JsonResponse({"error": {"code": "invalid_signature", "message": str(e)}}, status=400)
    for fn in [*handlers.get(event.type, []), *handlers.get("*", [])]:
        fn(event)
    return HttpResponse(status=204)
