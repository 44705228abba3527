"""Membership sync: makes the service's conversation and org members what your database
says, from the callable named in ``EDGE_REALTIME["MEMBERSHIP"]``.

The callable takes no arguments and returns
``{"conversations": {conversation_id: [user_id, ...]}, "orgs": {org_id: [user_id, ...]}}``
(either key may be missing; ids may be ints). Conversations are compared with the
service's member list: missing members are added and, unless ``prune=False``, members the
database no longer has are removed. The API cannot list org members, so orgs are only
added to. One failing conversation or org is reported and the rest still synced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from ..client import Client
from ..errors import EdgeRealtimeError
from .conf import get_client, settings_value

__all__ = ["Desired", "Change", "Report", "load_desired", "sync_memberships"]

#: ``{"conversations": {id: user ids}, "orgs": {id: user ids}}``.
Desired = Mapping[str, Mapping[Any, Iterable[Any]]]


@dataclass(frozen=True)
class Change:
    """One membership change, made (or, in a dry run, due)."""

    kind: str
    target_id: str
    user_id: str
    member: bool

    def __str__(self) -> str:
        return f"{'+' if self.member else '-'} {self.kind} {self.target_id}: {self.user_id}"


@dataclass
class Report:
    """What a sync did: the changes, and the targets that failed with their error."""

    changes: list[Change] = field(default_factory=list)
    failures: dict[str, EdgeRealtimeError] = field(default_factory=dict)
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def load_desired(path: str | None = None) -> Desired:
    """Calls the ``MEMBERSHIP`` callable (or the one at dotted ``path``)."""
    path = path or settings_value("MEMBERSHIP")
    if not path:
        raise ImproperlyConfigured('set EDGE_REALTIME["MEMBERSHIP"] to the dotted path of a callable')
    source: Callable[[], Desired] = import_string(path)
    return source()


def _ids(users: Iterable[Any]) -> set[str]:
    return {str(u) for u in users}


def _conversation(client: Client, cid: str, want: set[str], prune: bool, dry_run: bool) -> list[Change]:
    have = set(client.list_members(cid)["members"])
    changes = [Change("conversation", cid, u, True) for u in sorted(want - have)]
    if prune:
        changes += [Change("conversation", cid, u, False) for u in sorted(have - want)]
    if not dry_run:
        for c in changes:
            (client.add_member if c.member else client.remove_member)(cid, c.user_id)
    return changes


def _org(client: Client, oid: str, want: set[str], dry_run: bool) -> list[Change]:
    changes = [Change("org", oid, u, True) for u in sorted(want)]
    if not dry_run:
        for c in changes:
            client.add_org_member(oid, c.user_id)
    return changes


def sync_memberships(
    desired: Desired | None = None,
    *,
    client: Client | None = None,
    prune: bool = True,
    dry_run: bool = False,
) -> Report:
    """Syncs ``desired`` (default: :func:`load_desired`) to the service."""
    desired = load_desired() if desired is None else desired
    client = client or get_client()
    report = Report()
    for kind, targets in (("conversation", desired.get("conversations", {})), ("org", desired.get("orgs", {}))):
        for target, users in targets.items():
            tid = str(target)
            try:
                if kind == "conversation":
                    done = _conversation(client, tid, _ids(users), prune, dry_run)
                else:
                    done = _org(client, tid, _ids(users), dry_run)
            except EdgeRealtimeError as e:
                report.failures[f"{kind} {tid}"] = e
                continue
            report.changes += done
            report.unchanged += not done
    return report
