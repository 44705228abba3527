"""The ASGI application Daphne serves: Django's HTTP handler for the API and /healthz, and the
chat consumer for `/ws/chat/{room}/` sockets (token in the query, checked by the consumer)."""
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbench.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from chat.consumers import ChatConsumer  # noqa: E402

# No AllowedHostsOriginValidator: sockets authenticate with a token, not a cookie, and the
# load generator sends no Origin (the validator refuses a missing one).
application = ProtocolTypeRouter(
    {
        "http": django_http,
        "websocket": URLRouter([re_path(r"^ws/chat/(?P<room>[^/]+)/$", ChatConsumer.as_asgi())]),
    }
)
