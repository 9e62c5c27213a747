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
