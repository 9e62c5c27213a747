"""manage.py seed_edi_partner: the sandbox EDI buyer as a trading partner (after the ERP sync)."""

from django.core.management.base import BaseCommand

from demo.connectors import SANDBOX_URL
from demo.edi import seed_edi_partner


class Command(BaseCommand):
    help = "Set up the sandbox EDI buyer as a trading partner (idempotent)."

    def handle(self, *args, **options):
        partner = seed_edi_partner(sandbox_url=SANDBOX_URL)
        if partner is None:
            self.stdout.write(
                "The sandbox customer is not synced yet; run again after the ERP sync."
            )
        else:
            self.stdout.write(f"Trading partner {partner.name} trades as {partner.customer}.")
