"""Authentication backends: local passwords (limited to the break-glass list when one is set) and
the sessions single sign-on opens."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend


class LocalPasswordBackend(ModelBackend):
    """Django's username-and-password backend. With O2C_LOCAL_LOGIN_USERS set, only those accounts
    may sign in by password (the login page and admin alike); their open sessions end too."""

    def user_can_authenticate(self, user) -> bool:
        allowed = settings.O2C_LOCAL_LOGIN_USERS
        return super().user_can_authenticate(user) and (
            not allowed or user.get_username() in allowed
        )


class SingleSignOnBackend(BaseBackend):
    """Checks no credentials (sso.views.sso_callback signs people in); it restores the sessions
    that sign-in opened while the account is active and single sign-on is still on."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        if not settings.O2C_OIDC:
            return None
        user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
        if user is None or user.is_staff or user.is_superuser:
            return None
        return user
