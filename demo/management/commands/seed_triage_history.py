"""manage.py seed_triage_history: months of older decided holds with learnable structure, for the
triage models to train on in the demo (``make run`` runs it, then ``train_models``)."""

from django.core.management.base import BaseCommand

from demo.triage import seed_triage_history


class Command(BaseCommand):
    help = "Seed a history of decided holds for the triage models (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--holds", type=int, default=900)

    def handle(self, *args, holds: int, **options):
        made = seed_triage_history(holds=holds)
        self.stdout.write(
            f"Seeded {made} decided holds of history."
            if made
            else "Triage history already present."
        )
