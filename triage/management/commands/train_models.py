"""``manage.py train_models [--model NAME…]``: train a new version of each model (or those named)
from o2c's history, print its held-out metrics beside its baseline's, and say whether it is now
the active version. Too little history refuses with how much is needed; the active version stays."""

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from triage.training import TRAINERS, NotEnoughHistory, model_train


class Command(BaseCommand):
    help = "Train triage models from o2c's own history."

    def add_arguments(self, parser):
        parser.add_argument("--model", action="append", choices=sorted(TRAINERS))

    def handle(self, *args, **options):
        refused = []
        for name in options["model"] or sorted(TRAINERS):
            try:
                version = model_train(name=name)
            except NotEnoughHistory as exc:
                refused.append(name)
                self.stderr.write(f"{name}: {exc.message}")
                continue
            except ApplicationError as exc:
                raise CommandError(exc.message) from exc
            metrics, baseline = version.metrics, version.metrics["baseline"]
            figures = (
                f"top-1 accuracy {metrics['accuracy']} (baseline {baseline['accuracy']}), "
                f"ROC AUC {metrics['roc_auc']} (baseline {baseline['roc_auc']})"
                if "accuracy" in metrics
                else f"ROC AUC {metrics['roc_auc']} (baseline {baseline['roc_auc']}), precision "
                f"{metrics['precision']}, recall {metrics['recall']}, Brier {metrics['brier']}"
            )
            self.stdout.write(
                f"{name} v{version.number}: held-out {figures}; trained on "
                f"{version.counts['train']}, tested on {version.counts['held_out']}; "
                + (
                    "now active"
                    if version.active
                    else "kept inactive: it does not beat the baseline"
                )
            )
        if refused and len(refused) == len(options["model"] or TRAINERS):
            raise CommandError("Nothing was trained.")
