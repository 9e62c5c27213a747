"""Top-level URL configuration."""

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from sso import views as sso_views

from . import health, metrics, saved_views, views

admin.site.site_header = "o2c administration"
admin.site.site_title = "o2c admin"

# Swagger UI and Redoc style themselves inline and Redoc searches in a blob: worker; their script
# still comes from this app only (the split view serves Swagger's initialiser as a file).
api_docs_csp = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})

urlpatterns = [
    # probes: no login, no detail beyond each check's outcome (o2c/health.py)
    path("health/live/", health.live, name="health-live"),
    path("health/ready/", health.ready, name="health-ready"),
    # Prometheus text, for addresses on O2C_METRICS_ALLOWED_IPS or a bearer token (o2c/metrics.py)
    path("metrics", metrics.metrics, name="metrics"),
    path("", views.home, name="home"),
    path("today/", views.today, name="home-today"),
    # the local form, and "Sign in with your company account" when single sign-on is on (sso/)
    path("login/", sso_views.SignInView.as_view(), name="login"),
    path("logout/", sso_views.SignOutView.as_view(), name="logout"),
    path("sso/", include("sso.urls")),
    path("account/preferences/", views.preferences, name="preferences"),
    path("account/notices/", views.notice_preferences, name="notice-preferences"),
    path("views/", saved_views.saved_view_list, name="saved-views"),
    path("views/menu/", saved_views.saved_view_menu, name="saved-views-menu"),
    path("views/save/", saved_views.saved_view_save_submit, name="saved-view-save"),
    path(
        "views/<int:view_id>/delete/",
        saved_views.saved_view_delete_submit,
        name="saved-view-delete",
    ),
    path("orders/", include("orders.urls")),
    path("queues/", include("exceptions.urls")),
    path("notes/", include("exceptions.note_urls")),
    path("billing/", include("billing.urls")),
    path("cash/", include("receivables.urls")),
    path("cases/", include("cases.urls")),
    path("returns/", include("cases.return_urls")),
    path("collections/", include("dunning.urls")),
    path("integrations/", include("integrations.urls")),
    path("insights/", include("insights.urls")),
    path("triage/", include("triage.urls")),
    path("api/v1/", include("o2c.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        api_docs_csp(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        api_docs_csp(SpectacularRedocView.as_view(url_name="api-schema")),
        name="api-redoc",
    ),
    path("admin/", admin.site.urls),
]
