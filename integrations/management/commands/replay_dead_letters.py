"""manage.py replay_dead_letters --reason "...": put dead letters back and process them."""

from django.core.management.base import BaseCommand, CommandError

from core.roles import get_system_user
from integrations.models import InboundMessage, InboundState
from integrations.services import inbox_process, inbox_replay


class Command(BaseCommand):
    help = "Replay dead letters (optionally of one connector/stream) and process them again."

    def add_arguments(self, parser):
        parser.add_argument("--reason", required=True)
        parser.add_argument("--connector")
        parser.add_argument("--stream")

    def handle(self, *args, reason: str, connector: str | None, stream: str | None, **options):
        dead = InboundMessage.objects.filter(state=InboundState.DEAD)
        if connector:
            dead = dead.filter(connector__name=connector)
        if stream:
            dead = dead.filter(stream=stream)
        targets = set(dead.values_list("connector_id", "stream"))
        if not targets:
            raise CommandError("No dead letters match.")
        count = inbox_replay(
            message_ids=list(dead.values_list("pk", flat=True)),
            actor=get_system_user(),
            reason=reason,
            process=False,  # processed here, below, to report the counts
        )
        for connector_id, each in sorted(targets):
            self.stdout.write(f"{each}: {inbox_process(connector_id=connector_id, stream=each)}")
        self.stdout.write(f"Replayed {count} dead letter(s).")
