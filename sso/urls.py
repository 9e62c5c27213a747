"""Single sign-on's start and callback (the callback is the redirect URI registered at the provider)."""

from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.sso_login, name="sso-login"),
    path("callback/", views.sso_callback, name="sso-callback"),
]
