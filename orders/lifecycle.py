"""The steps of an order's lifecycle that a hold can block (release, ship, invoice); whether one
is blocked is asked of the apps above orders through ``orders.extensions``."""

from django.db import models


class Step(models.TextChoices):
    RELEASE = "release", "Release"  # blocks the order from being released to the warehouse
    SHIP = "ship", "Ship"  # blocks allocation and shipping
    INVOICE = "invoice", "Invoice"  # blocks invoicing
