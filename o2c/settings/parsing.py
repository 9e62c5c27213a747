"""URL-style settings read into Django's shapes: EMAIL_URL into the EMAIL_* settings, CACHE_URL into
a CACHES entry. Small on purpose (no library for it is installed); each refusal names the setting."""

from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}

#: Email schemes that need no server: the backend alone.
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}


def email_config(url: str) -> dict:
    """``smtp://user:pass@host:587/?tls=1`` (or ``?ssl=1``, ``?timeout=10``), ``smtps://…`` (SSL),
    ``console://``, ``locmem://`` or ``dummy://`` → the EMAIL_* settings. The user and password are
    percent-decoded, so a password may hold any character once quoted."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in _EMAIL_BACKENDS:
        return {"EMAIL_BACKEND": _EMAIL_BACKENDS[scheme]}
    if scheme not in {"smtp", "smtps"}:
        raise ImproperlyConfigured(
            f"EMAIL_URL has the scheme {scheme or '(none)'!r}: use smtp://, smtps://, console://, "
            "locmem:// or dummy://."
        )
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no host: smtp://user:password@host:587/?tls=1")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"tls", "ssl", "timeout"}
    if unknown:
        raise ImproperlyConfigured(f"EMAIL_URL has unknown options: {', '.join(sorted(unknown))}.")
    use_ssl = scheme == "smtps" or query.get("ssl", "").lower() in _TRUE
    use_tls = query.get("tls", "").lower() in _TRUE
    if use_ssl and use_tls:
        # Django refuses the pair at send time; say so at start instead.
        raise ImproperlyConfigured("EMAIL_URL asks for both tls and ssl: choose one.")
    try:
        port = parts.port or (465 if use_ssl else 25)
        timeout = int(query["timeout"]) if "timeout" in query else None
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"EMAIL_URL has a port or timeout that is not a number: {exc}"
        ) from exc
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": use_tls,
        "EMAIL_USE_SSL": use_ssl,
        "EMAIL_TIMEOUT": timeout,
    }


def cache_config(url: str) -> dict:
    """``redis://host:6379/1`` (or ``rediss://``) → Django's Redis cache; ``locmem://`` → the
    per-process memory cache (only for one process: throttles and locks are then not shared)."""
    scheme = urlsplit(url.strip()).scheme.lower()
    if scheme in {"redis", "rediss"}:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url.strip()}
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    raise ImproperlyConfigured(
        f"CACHE_URL has the scheme {scheme or '(none)'!r}: use redis://, rediss:// or locmem://."
    )


#: The OpenID Connect settings, read when O2C_OIDC_CLIENT_ID is set (docs/operations.md).
_OIDC_ENDPOINTS = {
    "authorization_endpoint": "O2C_OIDC_AUTHORIZATION_ENDPOINT",
    "token_endpoint": "O2C_OIDC_TOKEN_ENDPOINT",
    "jwks_uri": "O2C_OIDC_JWKS_URI",
    "userinfo_endpoint": "O2C_OIDC_USERINFO_ENDPOINT",
    "end_session_endpoint": "O2C_OIDC_END_SESSION_ENDPOINT",
}
#: Without discovery these three are needed to sign anyone in.
_OIDC_EXPLICIT_REQUIRED = ("authorization_endpoint", "token_endpoint", "jwks_uri")


def _https_or_loopback(name: str, url: str) -> str:
    parts = urlsplit(url)
    loopback = parts.hostname in {"127.0.0.1", "::1", "localhost"}
    if parts.scheme == "https" or (parts.scheme == "http" and loopback):
        return url
    raise ImproperlyConfigured(f"{name}={url!r} must be an https:// URL (http only on loopback).")


def oidc_config(env) -> dict:
    """Single sign-on from the environment: ``{}`` (off: nothing read, no network) unless
    O2C_OIDC_CLIENT_ID is set; then the issuer and secret are required, and the endpoints come
    from discovery unless the authorization, token and JWKS endpoints are all given."""
    client_id = env.get("O2C_OIDC_CLIENT_ID", "").strip()
    if not client_id:
        leftovers = sorted(n for n in env if n.startswith("O2C_OIDC_") and env[n].strip())
        if leftovers:
            raise ImproperlyConfigured(
                f"{', '.join(leftovers)} set without O2C_OIDC_CLIENT_ID: set the client id to turn "
                "single sign-on on, or unset them."
            )
        return {}
    issuer = env.get("O2C_OIDC_ISSUER", "").strip().rstrip("/")
    secret = env.get("O2C_OIDC_CLIENT_SECRET", "")
    missing = [
        n for n, v in (("O2C_OIDC_ISSUER", issuer), ("O2C_OIDC_CLIENT_SECRET", secret)) if not v
    ]
    if missing:
        raise ImproperlyConfigured(
            f"O2C_OIDC_CLIENT_ID is set, so single sign-on is on, but {', '.join(missing)} is not."
        )
    endpoints = {
        key: _https_or_loopback(name, env[name].strip())
        for key, name in _OIDC_ENDPOINTS.items()
        if env.get(name, "").strip()
    }
    explicit = [key for key in _OIDC_EXPLICIT_REQUIRED if key in endpoints]
    if explicit and len(explicit) < len(_OIDC_EXPLICIT_REQUIRED):
        names = ", ".join(_OIDC_ENDPOINTS[k] for k in _OIDC_EXPLICIT_REQUIRED if k not in explicit)
        raise ImproperlyConfigured(
            f"Some endpoints are given but not {names}: give all three, or none to use discovery."
        )
    scopes = env.get("O2C_OIDC_SCOPES", "openid email profile groups").split()
    if "openid" not in scopes:
        raise ImproperlyConfigured("O2C_OIDC_SCOPES must include openid.")
    try:
        session_hours = float(env.get("O2C_OIDC_SESSION_HOURS", "10"))
    except ValueError as exc:
        raise ImproperlyConfigured("O2C_OIDC_SESSION_HOURS must be a number of hours.") from exc
    if session_hours <= 0:
        raise ImproperlyConfigured("O2C_OIDC_SESSION_HOURS must be more than 0.")
    return {
        "issuer": _https_or_loopback("O2C_OIDC_ISSUER", issuer),
        "client_id": client_id,
        "client_secret": secret,
        "scopes": scopes,
        "groups_claim": env.get("O2C_OIDC_GROUPS_CLAIM", "groups").strip() or "groups",
        # discovery only when no endpoint is given: a partial list was refused above
        "discovery": not explicit,
        "endpoints": endpoints,
        "session_seconds": int(session_hours * 3600),
    }
