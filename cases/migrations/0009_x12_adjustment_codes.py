"""The X12 adjustment reason codes (element 426, an 820's ADX02) that name a deduction's reason,
mapped for every customer beside the codes remittances write in words; admin edits them, and a
customer's own mapping wins."""

from django.db import migrations

#: ADX02 code -> reason; codes that say nothing of why (CS adjustment) stay unmapped ("OTHER").
X12_CODES = {
    "01": "PRICING",  # pricing error
    "02": "PROMOTION",  # allowance/charge error
    "04": "DAMAGE",  # item not accepted, damaged
    "06": "SHORTAGE",  # quantity contested
    "11": "DAMAGE",  # returns, damage
    "19": "DUPLICATE",  # duplicate billing
    "54": "FREIGHT",  # freight deducted
    "55": "TAX",  # tax deducted
    "56": "PROMOTION",  # advertising allowance taken
    "57": "PROMOTION",  # volume discount taken
    "59": "SHORTAGE",  # item not received
}


def seed(apps, schema_editor):
    CaseReason = apps.get_model("cases", "CaseReason")
    Mapping = apps.get_model("cases", "ReasonCodeMapping")
    reasons = {r.code: r for r in CaseReason.objects.filter(code__in=set(X12_CODES.values()))}
    for code, reason in X12_CODES.items():
        if reason in reasons:
            Mapping.objects.get_or_create(
                customer=None, code=code, defaults={"reason": reasons[reason]}
            )


def unseed(apps, schema_editor):
    Mapping = apps.get_model("cases", "ReasonCodeMapping")
    Mapping.objects.filter(customer=None, code__in=list(X12_CODES)).delete()


class Migration(migrations.Migration):
    dependencies = [("cases", "0008_case_queue_index")]

    operations = [migrations.RunPython(seed, unseed)]
