"""A payment's bank text was stored as the bank wrote it, and a BAI2 wire's 88 records name the
payer's account (DACT, ORG=/): mask those numbers in the payments and their history, as intake
now does before storing."""

from django.db import migrations

#: Only rows whose text carries an account label are read.
_LABELS = r"(DACT|DABA):|(ORG|B/O)[:=]|<IBAN>|<Othr>"


def mask(apps, schema_editor):
    from receivables.accounts import mask_accounts_in

    for name in ("Payment", "HistoricalPayment"):
        model = apps.get_model("receivables", name)
        pk = model._meta.pk.attname
        rows = model.objects.filter(free_text__regex=_LABELS).values_list(pk, "free_text")
        changed = [
            model(**{pk: key, "free_text": masked})
            for key, text in rows.iterator(chunk_size=2000)
            if (masked := mask_accounts_in(text)) != text
        ]
        model.objects.bulk_update(changed, ["free_text"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [("receivables", "0008_cash_index_diet")]

    operations = [migrations.RunPython(mask, migrations.RunPython.noop, elidable=True)]
