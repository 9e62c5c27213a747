"""One consolidated invoice per customer, window and currency: a customer ordering in two
currencies gets an invoice in each, where one invoice in the first order's currency added the
other's amounts into its total. The unique index covers only consolidated invoices (a window
end), so rebuilding it reads few rows."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0007_invoice_index_diet"),
        ("orders", "0008_invoiced_amount"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="invoice", name="billing_one_invoice_per_window"),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.UniqueConstraint(
                condition=models.Q(("window_end__isnull", False)) & ~models.Q(("state", "void")),
                fields=("customer", "billing_rule", "window_end", "currency"),
                name="billing_one_invoice_per_window",
            ),
        ),
    ]
