"""Sign-in pages: the login page offers the company account when single sign-on is on; the start
and callback of the OpenID Connect flow; sign-out that ends the provider's session on request."""

import logging
from urllib.parse import urlencode

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from joserfc.errors import JoseError

from .client import enabled, provider_client
from .services import sso_sign_in

logger = logging.getLogger(__name__)

#: Session keys: where to go after the provider, and the ID token (the logout hint).
NEXT_KEY = "o2c_sso_next"
ID_TOKEN_KEY = "o2c_sso_id_token"  # noqa: S105 - a session key, not a secret
BACKEND = "sso.backends.SingleSignOnBackend"


class SignInView(auth_views.LoginView):
    """Django's login page, with "Sign in with your company account" beside the local form."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if enabled():
            url = reverse("sso-login")
            target = self.get_redirect_url()
            context["sso_login_url"] = f"{url}?{urlencode({'next': target})}" if target else url
            context["local_login_limited"] = bool(settings.O2C_LOCAL_LOGIN_USERS)
        return context


def _safe_next(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _failed(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "sso/failed.html", {"message": message}, status=status)


def _checked_metadata(client) -> dict:
    """The provider's metadata, refused when discovery names another issuer than configured."""
    metadata = client.load_server_metadata()
    if metadata.get("issuer", "").rstrip("/") != settings.O2C_OIDC["issuer"]:
        raise OAuthError(
            error="issuer_mismatch",
            description=f"discovery names issuer {metadata.get('issuer')!r}",
        )
    return metadata


@never_cache
@require_GET
def sso_login(request: HttpRequest) -> HttpResponse:
    """Send the browser to the provider, with a fresh state, nonce and PKCE verifier."""
    client = provider_client()
    if client is None:
        raise Http404("Single sign-on is not configured.")
    request.session[NEXT_KEY] = _safe_next(request, request.GET.get("next", ""))
    try:
        _checked_metadata(client)
        return client.authorize_redirect(
            request, request.build_absolute_uri(reverse("sso-callback"))
        )
    except (requests.RequestException, ValueError, AuthlibBaseError) as exc:
        logger.warning("sso: the provider could not be reached to start a sign-in: %s", exc)
        return _failed(
            request,
            "The company sign-in service could not be reached. Try again in a minute, or sign in "
            "with your o2c password if you have one.",
            502,
        )


@never_cache
@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    """The provider's answer: the state must be the one this browser's session started, the code
    is exchanged and the ID token checked (signature, issuer, audience, expiry, nonce)."""
    client = provider_client()
    if client is None:
        raise Http404("Single sign-on is not configured.")
    config = settings.O2C_OIDC
    try:
        token = client.authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})
        if not claims:
            raise OAuthError(error="no_id_token", description="the token response has no ID token")
        if _checked_metadata(client).get("userinfo_endpoint"):
            # Many providers keep groups, email and names out of the ID token and serve them
            # here; what the signed ID token says wins where both say something.
            userinfo = client.userinfo(token=token)
            if userinfo.get("sub") != claims.get("sub"):
                raise OAuthError(
                    error="userinfo_mismatch", description="userinfo names another sub"
                )
            claims = {**userinfo, **claims}
    except MismatchingStateError:
        logger.warning("sso: a callback with a state this session did not start was refused")
        return _failed(
            request,
            "This sign-in was not started from this browser, or it took too long. Start again "
            "from the sign-in page.",
            400,
        )
    except OAuthError as exc:
        logger.warning("sso: the provider refused or answered wrongly: %s", exc)
        return _failed(
            request,
            f"The company sign-in did not complete ({exc.error or 'error'}). Start again from the "
            "sign-in page; if it keeps failing, ask an o2c administrator.",
            400,
        )
    except (requests.RequestException, ValueError, AuthlibBaseError, JoseError) as exc:
        logger.warning("sso: the provider's answer could not be verified: %s", exc)
        return _failed(
            request,
            "The company sign-in service's answer could not be checked. Try again in a minute.",
            502,
        )
    result = sso_sign_in(issuer=claims["iss"], claims=claims, groups_claim=config["groups_claim"])
    if result.user is None:
        logger.info("sso: sign-in of subject %s refused: %s", claims.get("sub"), result.refusal)
        return render(request, "sso/no_access.html", {"message": result.message}, status=403)
    target = request.session.pop(NEXT_KEY, "")
    auth.login(request, result.user, backend=BACKEND)
    # A person removed at the provider is out of o2c when this runs out, not weeks later.
    request.session.set_expiry(config["session_seconds"])
    request.session[ID_TOKEN_KEY] = token.get("id_token", "")
    return HttpResponseRedirect(target or resolve_url(settings.LOGIN_REDIRECT_URL))


class SignOutView(auth_views.LogoutView):
    """Local sign-out always. After a single sign-on session, a page offers to sign out of the
    company account too, when the provider has an end-session endpoint: a link, not a redirect,
    so signing out of o2c never signs anyone out of every other company application."""

    def post(self, request, *args, **kwargs):
        id_token = request.session.get(ID_TOKEN_KEY, "")
        response = super().post(request, *args, **kwargs)
        client = provider_client() if id_token else None
        if client is None:
            return response
        try:
            end_session = client.create_logout_url(
                post_logout_redirect_uri=request.build_absolute_uri(resolve_url("login")),
                id_token_hint=id_token,
            )["url"]
        except (requests.RequestException, ValueError, RuntimeError, AuthlibBaseError) as exc:
            logger.info("sso: no provider sign-out offered: %s", exc)
            return response
        return render(request, "sso/signed_out.html", {"end_session_url": end_session})
