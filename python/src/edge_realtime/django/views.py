"""``token``: a view that hands the signed-in user their socket token, for pages whose
JavaScript client asks for one (``getToken``) on every (re)connect."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .tokens import token_for

__all__ = ["token"]


@never_cache
@require_GET
def token(request: HttpRequest) -> JsonResponse:
    """``200 {"token", "user_id"}`` for a signed-in user, ``401`` otherwise."""
    user = request.user
    if not user.is_authenticated:
        return JsonResponse({"error": {"code": "unauthorized", "message": "sign in first"}}, status=401)
    return JsonResponse({"token": token_for(user), "user_id": str(user.pk)})
