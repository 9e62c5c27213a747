"""EDI trading partners, the interchanges exchanged with them and each transaction set in them.

A set that arrives becomes an inbox message (an 850 an order record on the ``orders`` stream of
the EDI connector), so it is applied, retried, dead-lettered and replayed like every other
upstream record; these rows keep what the inbox does not: the raw interchange, the envelope, the
997 verdict and which order, shipment or invoice a set produced or came from.
"""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from simple_history.models import HistoricalRecords

#: How a partner's PO1 names an item, in the order o2c tries them.
ITEM_QUALIFIERS = {
    "BP": "Buyer's part number",
    "VP": "Vendor's (our) part number",
    "VN": "Vendor's item number",
    "UP": "UPC (GTIN-12)",
}
DOCUMENTS = {
    "850": "Purchase order",
    "860": "Purchase order change",
    "820": "Remittance advice",
    "855": "Purchase order acknowledgement",
    "856": "Advance ship notice",
    "810": "Invoice",
    "997": "Functional acknowledgement",
}
#: GS01 of each transaction set o2c reads or writes.
FUNCTIONAL_IDS = {
    "850": "PO", "860": "PC", "820": "RA", "855": "PR", "856": "SH", "810": "IN", "997": "FA",
}  # fmt: skip

_code = RegexValidator(r"^[A-Za-z0-9 ]+$", "Letters, digits and spaces only.")


class Version(models.TextChoices):
    V4010 = "004010", "004010"
    V5010 = "005010", "005010"


class TradingPartner(models.Model):
    """A customer that trades by X12: who they are in the envelopes, what they send and expect
    back, and how their documents travel."""

    class ShipToBy(models.TextChoices):
        CODE = "92", "N1 qualifier 92: our ship-to code"
        GLN = "UL", "N1 qualifier UL: GLN"

    class AckAt(models.TextChoices):
        RECEIPT = "receipt", "When the order arrives"
        DECISION = "decision", "When the order is decided (released, or a hold settled)"

    name = models.SlugField(max_length=40, unique=True)
    customer = models.ForeignKey(
        "orders.Customer", on_delete=models.PROTECT, related_name="trading_partners"
    )
    connector = models.ForeignKey(
        "integrations.Connector",
        on_delete=models.PROTECT,
        related_name="trading_partners",
        limit_choices_to={"kind": "edi"},
        help_text="The EDI connector whose inbox and outbox carry this partner's documents.",
    )
    isa_qualifier = models.CharField("ISA qualifier", max_length=2, validators=[_code])
    isa_id = models.CharField("ISA id", max_length=15, validators=[_code])
    gs_id = models.CharField("GS id", max_length=15, validators=[_code])
    version = models.CharField(max_length=6, choices=Version, default=Version.V4010)
    production = models.BooleanField(
        default=False,
        help_text="ISA15: ticked, documents are production (P); unticked, test (T). An "
        "interchange marked otherwise is refused.",
    )
    sends_850 = models.BooleanField("receives 850 purchase orders", default=True)
    sends_860 = models.BooleanField("receives 860 changes", default=True)
    sends_820 = models.BooleanField("receives 820 remittances", default=False)
    wants_855 = models.BooleanField("sends 855 acknowledgements", default=True)
    wants_856 = models.BooleanField("sends 856 ship notices", default=True)
    wants_810 = models.BooleanField("sends 810 invoices", default=True)
    item_qualifiers = models.CharField(
        max_length=40,
        default="BP,VP,UP",
        help_text="How the partner's PO1 names items, in the order to try them: "
        + ", ".join(f"{k} ({v})" for k, v in ITEM_QUALIFIERS.items()),
    )
    ship_to_by = models.CharField(max_length=2, choices=ShipToBy, default=ShipToBy.CODE)
    ack_855_at = models.CharField(
        "send the 855", max_length=8, choices=AckAt, default=AckAt.DECISION
    )
    sscc = models.BooleanField(
        "SSCC-18 on 856 packs", default=False, help_text="Serial shipping container codes."
    )
    gs1_prefix = models.CharField(
        "GS1 company prefix", max_length=10, blank=True, validators=[RegexValidator(r"^\d*$")]
    )
    ack_hours = models.PositiveIntegerField(
        "997 due within (hours)",
        default=24,
        help_text="An interchange sent and not acknowledged in time raises an integration hold.",
    )
    document_hours = models.PositiveIntegerField("855/856/810 due within (hours)", default=24)
    inbound_folder = models.CharField(
        max_length=200,
        blank=True,
        help_text="Folder (under O2C_EDI_DIR) the partner's VAN or SFTP mailbox drops files in.",
    )
    outbound_folder = models.CharField(
        max_length=200, blank=True, help_text="Folder (under O2C_EDI_DIR) o2c writes files to."
    )
    endpoint_url = models.URLField(
        blank=True, help_text="Where outbound documents are posted, when not to a folder."
    )
    credentials_ref = models.CharField(
        max_length=100,
        blank=True,
        help_text="Environment variable holding the HMAC secret of signed posts (in and out).",
    )
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["isa_qualifier", "isa_id"], name="edi_partner_unique_isa"
            )
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        codes = [c.strip() for c in self.item_qualifiers.split(",") if c.strip()]
        unknown = [c for c in codes if c not in ITEM_QUALIFIERS]
        if not codes or unknown:
            raise ValidationError(
                {"item_qualifiers": f"Use {', '.join(ITEM_QUALIFIERS)}; unknown: {unknown}"}
            )
        if self.sscc and not self.gs1_prefix:
            raise ValidationError({"gs1_prefix": "SSCC-18 codes need the GS1 company prefix."})
        if self.customer_id and not self.customer.external_id:
            # an EDI order names its customer as the ERP knows it (source system + id)
            raise ValidationError(
                {"customer": "Choose a customer that came from the ERP (it has an external id)."}
            )

    @property
    def qualifiers(self) -> list[str]:
        return [c.strip() for c in self.item_qualifiers.split(",") if c.strip()]

    def exchanges(self, code: str) -> bool:
        """Whether the partner exchanges transaction set ``code`` (997s always)."""
        flag = {"850": "sends_850", "860": "sends_860", "820": "sends_820", "855": "wants_855",
                "856": "wants_856", "810": "wants_810"}.get(code)  # fmt: skip
        return code == "997" or (flag is not None and getattr(self, flag))


class ControlNumber(models.Model):
    """The last ISA13 (and GS06, ST02) o2c used with a partner. Taken under a row lock, so
    numbers run without gaps or repeats however many workers write at once."""

    partner = models.OneToOneField(
        TradingPartner, on_delete=models.CASCADE, related_name="control_number"
    )
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.partner}: {self.last}"


class Direction(models.TextChoices):
    IN = "in", "Received"
    OUT = "out", "Sent"


class AckState(models.TextChoices):
    NONE = "", "—"
    AWAITING = "awaiting", "Awaiting 997"
    ACCEPTED = "accepted", "Accepted"
    ERRORS = "errors", "Accepted with errors"
    REJECTED = "rejected", "Rejected"
    OVERDUE = "overdue", "997 overdue"


class Interchange(models.Model):
    """One interchange (ISA to IEA) in or out, kept as it travelled."""

    class State(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"  # every set applied (in) / written (out)
        PARTLY = "partly", "Partly accepted"  # some sets rejected
        REJECTED = "rejected", "Rejected"  # nothing in it applied
        QUEUED = "queued", "Queued"  # out: in the outbox
        SENT = "sent", "Sent"

    partner = models.ForeignKey(
        TradingPartner, on_delete=models.PROTECT, related_name="interchanges", null=True
    )
    direction = models.CharField(max_length=3, choices=Direction)
    sender = models.CharField(max_length=20, help_text="ISA05:ISA06")
    receiver = models.CharField(max_length=20, help_text="ISA07:ISA08")
    control_number = models.CharField(max_length=9)
    usage = models.CharField(max_length=1, blank=True)
    version = models.CharField(max_length=5, blank=True)
    state = models.CharField(max_length=10, choices=State)
    ack_state = models.CharField(max_length=10, choices=AckState, blank=True, default="")
    ack_due_at = models.DateTimeField(null=True, blank=True)
    raw = models.TextField()
    error = models.TextField(blank=True)
    via = models.CharField(max_length=20, blank=True)  # folder, http, import
    file_name = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()
    outbound = models.ForeignKey(
        "integrations.OutboundMessage", on_delete=models.SET_NULL, null=True, blank=True
    )

    class Meta:
        constraints = [
            # The same interchange delivered twice is one row: the second changes nothing. The
            # receiver is part of it: o2c numbers what it sends per partner.
            models.UniqueConstraint(
                fields=["direction", "sender", "receiver", "control_number"],
                name="edi_interchange_once",
            )
        ]
        indexes = [
            models.Index(fields=["partner", "-at"], name="edi_interchange_partner"),
            models.Index(
                fields=["ack_due_at"],
                name="edi_awaiting_ack",
                condition=models.Q(ack_state="awaiting"),
            ),
        ]
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.sender} #{self.control_number}"


class Document(models.Model):
    """One transaction set (ST to SE) of an interchange."""

    class State(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        SENT = "sent", "Sent"

    interchange = models.ForeignKey(Interchange, on_delete=models.CASCADE, related_name="documents")
    code = models.CharField(max_length=3)  # ST01
    control_number = models.CharField(max_length=9)  # ST02
    group_control = models.CharField(max_length=9)  # GS06
    functional_id = models.CharField(max_length=2)  # GS01
    position = models.PositiveIntegerField(help_text="The ST's segment position in the file.")
    state = models.CharField(max_length=10, choices=State)
    ack_state = models.CharField(max_length=10, choices=AckState, blank=True, default="")
    errors = models.JSONField(default=list, blank=True)
    reference = models.CharField(max_length=64, blank=True)  # PO, shipment or invoice number
    message = models.ForeignKey(
        "integrations.InboundMessage", on_delete=models.SET_NULL, null=True, blank=True
    )
    order = models.ForeignKey("orders.Order", on_delete=models.SET_NULL, null=True, blank=True)
    shipment = models.ForeignKey(
        "billing.Shipment", on_delete=models.SET_NULL, null=True, blank=True
    )
    invoice = models.ForeignKey("billing.Invoice", on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["code", "reference"], name="edi_document_reference"),
        ]
        ordering = ["interchange", "position"]

    def __str__(self) -> str:
        return f"{self.code} #{self.control_number}"
