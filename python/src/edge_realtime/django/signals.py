"""Membership kept in step with your models through Django signals.

* :func:`connect_membership` for a model whose rows *are* memberships (a ``Participant``
  with a conversation and a user): ``post_save`` adds, ``post_delete`` removes, and an
  ``active_if`` predicate turns a soft delete (``left_at`` set) into a removal.
* :func:`connect_m2m_membership` for a ``ManyToManyField`` (``Conversation.members``):
  ``m2m_changed`` adds, removes and clears, from either side of the relation.

``kind`` is ``"conversation"`` (``PUT/DELETE /api/conversations/{id}/members/{user}``) or
``"org"`` (``/api/orgs/{id}/members/{user}``). Changes are sent after the transaction
commits (``ON_COMMIT``), so a rolled-back save changes nothing at the edge. A failed call is
logged on the ``edge_realtime`` logger and not raised (the save has already happened);
``edge_realtime_sync_members`` repairs what was missed. ``dispatch`` replaces the direct
call, e.g. with a Celery task's ``delay``.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Callable, Iterable, Literal

from django.db import transaction
from django.db.models import Model, signals

from .conf import get_client, settings_value

__all__ = ["connect_membership", "connect_m2m_membership", "apply_change", "Kind", "Dispatch"]

log = logging.getLogger("edge_realtime")

Kind = Literal["conversation", "org"]
#: ``dispatch(kind, target_id, user_id, member)``: sends one membership change.
Dispatch = Callable[[Kind, str, str, bool], Any]
IdOf = Callable[[Any], Any]


def apply_change(kind: Kind, target_id: str, user_id: str, member: bool) -> None:
    """Sends one membership change with the settings' client."""
    client = get_client()
    if kind == "conversation":
        (client.add_member if member else client.remove_member)(target_id, user_id)
    elif kind == "org":
        (client.add_org_member if member else client.remove_org_member)(target_id, user_id)
    else:
        raise ValueError(f"kind must be 'conversation' or 'org', not {kind!r}")


def _safely(dispatch: Dispatch, change: tuple[Kind, str, str, bool]) -> None:
    try:
        dispatch(*change)
    except Exception:
        log.exception("edge_realtime: membership change %s failed", change)


def _send(dispatch: Dispatch, kind: Kind, pairs: Iterable[tuple[Any, Any]], member: bool, using: str | None) -> None:
    """Sends each ``(target_id, user_id)`` change, after commit when ``ON_COMMIT``."""
    for target, user in pairs:
        change = (kind, str(target), str(user), member)
        if settings_value("ON_COMMIT"):
            transaction.on_commit(partial(_safely, dispatch, change), using=using)
        else:
            _safely(dispatch, change)


def connect_membership(
    model: type[Model],
    *,
    conversation_id_of: IdOf,
    user_id_of: IdOf,
    kind: Kind = "conversation",
    active_if: Callable[[Any], bool] | None = None,
    dispatch: Dispatch = apply_change,
) -> None:
    """Wires ``post_save`` / ``post_delete`` of a membership-row ``model``:
    ``conversation_id_of(row)`` (the org id when ``kind="org"``) and ``user_id_of(row)``
    name the membership; ``active_if(row)`` false on save removes it."""
    uid = f"edge_realtime.{kind}.{model._meta.label}"

    def saved(sender: Any, instance: Any, using: str | None = None, raw: bool = False, **kw: Any) -> None:
        if raw:  # loaddata: fixtures are not changes
            return
        member = active_if(instance) if active_if else True
        _send(dispatch, kind, [(conversation_id_of(instance), user_id_of(instance))], member, using)

    def deleted(sender: Any, instance: Any, using: str | None = None, **kw: Any) -> None:
        _send(dispatch, kind, [(conversation_id_of(instance), user_id_of(instance))], False, using)

    signals.post_save.connect(saved, sender=model, weak=False, dispatch_uid=f"{uid}.save")
    signals.post_delete.connect(deleted, sender=model, weak=False, dispatch_uid=f"{uid}.delete")


def connect_m2m_membership(
    field: Any,
    *,
    conversation_id_of: IdOf,
    user_id_of: IdOf,
    kind: Kind = "conversation",
    conversation_model: type[Model] | None = None,
    dispatch: Dispatch = apply_change,
) -> None:
    """Wires ``m2m_changed`` of a many-to-many ``field`` given as its descriptor
    (``Conversation.members``). The conversation (or org) side is the model that declares
    the field unless ``conversation_model`` says otherwise; the callbacks get instances."""
    m2m = field.field
    forward_model, related_model = m2m.model, m2m.related_model
    swap = conversation_model is not None and conversation_model is related_model

    def pairs(instance: Any, objs: Iterable[Any], reverse: bool) -> list[tuple[Any, Any]]:
        ordered = [(o, instance) if reverse else (instance, o) for o in objs]
        ordered = [(b, a) for a, b in ordered] if swap else ordered
        return [(conversation_id_of(c), user_id_of(u)) for c, u in ordered]

    def changed(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set: Any, using: str, **kw: Any) -> None:
        if action == "pre_clear":
            accessor = m2m.remote_field.get_accessor_name() if reverse else m2m.name
            instance._edge_realtime_cleared = list(getattr(instance, accessor).all())
            return
        if action in ("post_add", "post_remove"):
            objs = list(model._default_manager.using(using).filter(pk__in=pk_set or ()))
            _send(dispatch, kind, pairs(instance, objs, reverse), action == "post_add", using)
        elif action == "post_clear":
            objs = getattr(instance, "_edge_realtime_cleared", [])
            _send(dispatch, kind, pairs(instance, objs, reverse), False, using)

    uid = f"edge_realtime.{kind}.m2m.{forward_model._meta.label}.{m2m.name}"
    signals.m2m_changed.connect(changed, sender=m2m.remote_field.through, weak=False, dispatch_uid=uid)
