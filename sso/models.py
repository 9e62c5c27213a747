"""Who signed in through the identity provider, what its groups grant, and what it granted."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from core.roles import Role


class GroupMapping(models.Model):
    """One identity-provider group and what its members get in o2c: a role, a territory, or leave
    to see every territory. A row may do any of the three but territory and every-territory."""

    idp_group = models.CharField(
        "identity-provider group",
        max_length=255,
        db_index=True,
        help_text="The group exactly as the identity provider names it in its groups claim.",
    )
    role = models.CharField(max_length=32, choices=Role.choices, blank=True)
    territory = models.CharField(
        max_length=32,
        blank=True,
        help_text="Members see only this territory's customers (with their other mapped ones).",
    )
    every_territory = models.BooleanField(
        default=False,
        help_text="Members with no mapped territory see every territory. Without such a row, a "
        "person whose groups map to no territory is refused, never shown them all.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["idp_group", "role", "territory"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(role="", territory="", every_territory=False),
                name="sso_mapping_grants_something",
                violation_error_message="Give the group a role, a territory or every territory.",
            ),
            models.CheckConstraint(
                condition=Q(territory="") | Q(every_territory=False),
                name="sso_mapping_territory_or_every",
                violation_error_message="Choose a territory or every territory, not both.",
            ),
            models.UniqueConstraint(
                fields=["idp_group", "role", "territory", "every_territory"],
                name="sso_mapping_unique",
                violation_error_message="This group already has this row.",
            ),
        ]

    def __str__(self) -> str:
        granted = [self.get_role_display() if self.role else "", self.territory]
        if self.every_territory:
            granted.append("every territory")
        return f"{self.idp_group} → {', '.join(g for g in granted if g)}"


class Identity(models.Model):
    """The account an identity provider's subject signs in as. Matched on issuer and ``sub``,
    never on email, so an email changed at the provider cannot take over another account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list, blank=True, help_text="As the provider last sent them.")
    linked_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_subject")
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.subject}"


class GrantKind(models.TextChoices):
    ROLE = "role", "Role"  # a Django group named after a core.roles.Role
    TERRITORY = "territory", "Territory"  # an orders.TerritoryAssignment


class Grant(models.Model):
    """A role or territory that single sign-on gave a person. Sign-in takes back only these when
    the provider stops sending their group; what an administrator gave stays."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_grants"
    )
    kind = models.CharField(max_length=16, choices=GrantKind.choices)
    value = models.CharField(max_length=64)
    granted_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "value"], name="sso_grant_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.kind} {self.value}"
