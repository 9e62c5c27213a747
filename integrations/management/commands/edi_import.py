"""Load X12 interchange files through the same intake as a partner's drop folder: for
onboarding a partner and for support. Prints, per transaction set, what it became."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from integrations.edi.models import TradingPartner
from integrations.edi.services import edi_receive


class Command(BaseCommand):
    help = "Take in X12 interchange files and report what each transaction set became."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="Interchange files")
        parser.add_argument(
            "--partner", help="Refuse files whose sender is not this trading partner"
        )

    def handle(self, *args, paths, partner=None, **options):
        expected = None
        if partner:
            expected = TradingPartner.objects.filter(name=partner).first()
            if expected is None:
                raise CommandError(f"No trading partner named “{partner}”.")
        failed = 0
        for name in paths:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"{name}: no such file")
            received = edi_receive(
                raw=path.read_bytes(), via="import", file_name=path.name, partner=expected
            )
            if received.error:
                failed += 1
                self.stdout.write(f"{path.name}: refused, kept as a dead letter: {received.error}")
                continue
            row = received.interchange
            repeat = "" if received.created else " (already received: nothing changed)"
            self.stdout.write(
                f"{path.name}: interchange {row.control_number} from {row.partner}: "
                f"{row.get_state_display()}{repeat}"
            )
            for outcome in received.outcomes:
                self.stdout.write(
                    f"  {outcome.code} #{outcome.control}: {outcome.state}: {outcome.became}"
                )
        if failed:
            raise CommandError(f"{failed} of {len(paths)} files refused")
