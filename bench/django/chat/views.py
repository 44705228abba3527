"""HTTP API of the Django target (async views): `PUT /api/conversations/{room}/members/{user}`,
`POST /api/conversations/{room}/messages` (stored, then `group_send` to the room's sockets;
201 `{message}` as the service answers) and `GET /healthz`."""
import json

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.http import HttpResponse

from . import store
from .auth import api_key_ok


def reply(status: int, body: dict) -> HttpResponse:
    return HttpResponse(store.dumps(body), status=status, content_type="application/json")


def error(status: int, code: str, message: str) -> HttpResponse:
    return reply(status, {"error": {"code": code, "message": message}})


async def healthz(request):
    return reply(200, {"ok": True})


async def member(request, room, user):
    if request.method != "PUT":
        return error(405, "method_not_allowed", "PUT only")
    if not api_key_ok(request):
        return error(401, "unauthorized", "a server key is required")
    created = await database_sync_to_async(store.add_member)(room, user)
    body = {"conversation_id": room, "user_id": user, "member": True}
    return reply(201 if created else 200, body)


async def messages(request, room):
    if request.method != "POST":
        return error(405, "method_not_allowed", "POST only")
    if not api_key_ok(request):
        return error(401, "unauthorized", "a server key is required")
    try:
        body = json.loads(request.body)
        sender_in = body["sender"]
        sender = store.sender_of(str(sender_in["id"]), sender_in)
    except (ValueError, KeyError, TypeError):
        return error(422, "invalid", "a JSON body with sender.id and content is required")
    problem = store.content_error(body.get("content"))
    if problem:
        return error(422, "invalid", problem)
    client_msg_id = body.get("client_msg_id")
    msg = await database_sync_to_async(store.post_as_member)(
        room, sender, body["content"], client_msg_id if isinstance(client_msg_id, str) else None
    )
    if msg is None:
        return error(403, "forbidden", "the sender is not a member of this conversation")
    await get_channel_layer().group_send(
        store.group_name(room), {"type": "chat.message", "text": store.chat_frame(msg)}
    )
    return reply(201, {"message": store.message_view(msg)})
