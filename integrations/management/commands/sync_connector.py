"""manage.py sync_connector NAME [--stream S]: pull and apply a connector's streams now."""

from django.core.management.base import BaseCommand, CommandError

from core.errors import TransientError
from integrations.models import Connector
from integrations.services import connector_sync, inbox_process


class Command(BaseCommand):
    help = "Pull a connector's streams (all, or one) and apply what arrived."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--stream", action="append", help="Only this stream (repeatable).")

    def handle(self, *args, name: str, stream: list[str] | None, **options):
        connector = Connector.objects.filter(name=name).first()
        if connector is None:
            raise CommandError(f"No connector named “{name}”.")
        for each in stream or connector.streams:
            if each not in connector.streams:
                raise CommandError(
                    f"{name} has no stream “{each}” (it has {', '.join(connector.streams)})."
                )
            try:
                result = connector_sync(connector_id=connector.pk, stream=each)
            except TransientError as exc:
                raise CommandError(f"{each}: {exc} (try again)") from exc
            counts = inbox_process(connector_id=connector.pk, stream=each)
            self.stdout.write(
                f"{each}: {result.pages} page(s), {result.stored} new message(s), applied {counts}"
            )
