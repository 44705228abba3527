"""``manage.py edge_realtime_sync_members``: syncs conversation and org membership to the
service from ``EDGE_REALTIME["MEMBERSHIP"]`` (see ``edge_realtime.django.sync``). Prints one
line per change; exits non-zero when a conversation or org could not be synced."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...sync import load_desired, sync_memberships


class Command(BaseCommand):
    help = "Sync conversation and org membership to edge-realtime from EDGE_REALTIME['MEMBERSHIP']."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print the changes, make none")
        parser.add_argument("--no-prune", action="store_true", help="only add members, never remove")
        parser.add_argument("--source", help="dotted path of the membership callable (default: the setting)")

    def handle(self, *args: Any, **options: Any) -> None:
        report = sync_memberships(
            load_desired(options["source"]), prune=not options["no_prune"], dry_run=options["dry_run"]
        )
        for change in report.changes:
            self.stdout.write(str(change))
        verb = "due" if options["dry_run"] else "made"
        self.stdout.write(f"{len(report.changes)} changes {verb}, {report.unchanged} already in step")
        for target, error in report.failures.items():
            self.stderr.write(f"{target}: {error}")
        if not report.ok:
            raise CommandError(f"{len(report.failures)} could not be synced")
