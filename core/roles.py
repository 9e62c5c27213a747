"""The staff roles (Django groups) and the checks every selector and service shares."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models


class Role(models.TextChoices):
    CUSTOMER_SERVICE = "customer_service", "Customer service"  # enters orders, fixes master data
    CREDIT = "credit", "Credit"  # credit holds
    PRICING = "pricing", "Pricing"  # pricing holds
    WAREHOUSE = "warehouse", "Warehouse"  # inventory and fulfilment holds
    FINANCE = "finance", "Finance"  # invoice releases and billing holds
    CASH_APPLICATION = "cash_application", "Cash application"  # payments to invoices
    COLLECTIONS = "collections", "Collections"  # past-due customers, promises, dunning
    INTEGRATION_ADMIN = "integration_admin", "Integration admin"  # connectors and dead letters
    MANAGER = "manager", "Manager"  # sees every queue and the dashboard


#: Roles that work with orders and may open the order list and order pages.
ORDER_VIEWER_ROLES = frozenset(Role.values)

UserLike = AbstractBaseUser | AnonymousUser


def user_roles(user: UserLike) -> frozenset[str]:
    """The user's role names, cached on the user object for the request."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_o2c_roles", None)
    if cached is None:
        if user.is_superuser:
            cached = frozenset(Role.values)
        else:
            cached = frozenset(
                user.groups.filter(name__in=Role.values).values_list("name", flat=True)
            )
        user._o2c_roles = cached
    return cached


def has_role(user: UserLike, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))


def is_system_user(user: UserLike) -> bool:
    return user.is_authenticated and user.get_username() == settings.O2C_SYSTEM_USERNAME


def is_model_user(user: UserLike) -> bool:
    """A trained model acting in "act" mode: an inactive account (it can never log in, and holds
    no role, so every service that checks roles refuses it) named by its model and version."""
    return (
        getattr(user, "pk", None) is not None
        and not user.is_active
        and user.get_username().startswith(settings.O2C_MODEL_USERNAME_PREFIX)
    )


def model_user(name: str, version: int):
    """The account a model version acts as, so history names the version as the author."""
    user, created = get_user_model().objects.get_or_create(
        username=f"{settings.O2C_MODEL_USERNAME_PREFIX}{name}-v{version}",
        defaults={"first_name": "Model", "last_name": f"{name} v{version}", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def get_system_user():
    """The connector/task identity; created by migration, cannot log in."""
    user, _ = get_user_model().objects.get_or_create(
        username=settings.O2C_SYSTEM_USERNAME,
        defaults={"first_name": "o2c", "last_name": "system", "is_active": True},
    )
    return user
