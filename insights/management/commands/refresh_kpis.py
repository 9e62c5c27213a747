"""Recompute the dashboard's KPI slices now: the changed days, or everything with --rebuild
(after a bulk load, a restore, or a change of TIME_ZONE)."""

from django.core.management.base import BaseCommand

from insights import rollups


class Command(BaseCommand):
    help = "Refresh the KPI slices (the days changed since the last refresh), or rebuild them all."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recompute every day")

    def handle(self, *args, rebuild: bool = False, **options):
        if rebuild:
            rows = rollups.rebuild()
            self.stdout.write(f"KPI slices rebuilt: {rows} rows.")
            return
        days = rollups.refresh()
        if days is None:
            self.stdout.write("KPI slices built for every day (first refresh).")
        else:
            self.stdout.write(f"KPI slices refreshed: {len(days)} changed day(s).")
