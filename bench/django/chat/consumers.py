"""The chat consumer of the Django target, written the way Channels chat consumers are
(docs/migrating-from-channels.md, "A chat consumer per conversation"): `connect` checks the
token and the membership and joins the room's group; `receive_json` saves a `chat_message`
with the ORM, then `group_send`s it to the room (sender included) and acks the sender."""
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from . import store
from .auth import claims_from_query


class ChatConsumer(AsyncJsonWebsocketConsumer):
    group = None

    @classmethod
    async def encode_json(cls, content):
        return store.dumps(content)

    async def connect(self):
        self.room = self.scope["url_route"]["kwargs"]["room"]
        claims = claims_from_query(self.scope["query_string"])
        if claims is None:
            await self.close(code=4001)
            return
        self.sender = store.sender_of(claims["sub"], claims)
        last_seq = await database_sync_to_async(store.member_last_seq)(self.room, claims["sub"])
        if last_seq is None:
            await self.close(code=4003)
            return
        self.group = store.group_name(self.room)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(
            {
                "type": "connection.established",
                "user_id": self.sender["id"],
                "user_name": self.sender["name"] or self.sender["id"],
                "last_seq": last_seq,
                "conversation_id": self.room,
                "presence": [],
            }
        )

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if not isinstance(content, dict) or content.get("type") != "chat_message":
            return
        request_id = content.get("request_id")
        text = content.get("content", content.get("message"))
        error = store.content_error(text)
        if error:
            await self.send_json(
                {"type": "error", "code": "invalid", "message": error, "request_id": request_id}
            )
            return
        client_msg_id = content.get("client_msg_id")
        msg = await database_sync_to_async(store.store_message)(
            self.room, self.sender, text, client_msg_id if isinstance(client_msg_id, str) else None
        )
        await self.channel_layer.group_send(
            self.group, {"type": "chat.message", "text": store.chat_frame(msg)}
        )
        await self.send_json(
            {"type": "ack", "request_id": request_id, "message_id": msg.id, "seq": msg.seq}
        )

    async def chat_message(self, event):
        await self.send(text_data=event["text"])
