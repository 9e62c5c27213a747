"""EMAIL_URL and CACHE_URL parsing: each scheme to Django's settings, and a clear refusal otherwise."""

import re

import pytest
from django.core.exceptions import ImproperlyConfigured

from o2c.settings.parsing import cache_config, email_config


def test_smtp_with_starttls_and_a_quoted_password():
    config = email_config("smtp://desk%40example.com:s3cr%2Ft@smtp.example.com:587/?tls=1")

    assert config == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "desk@example.com",
        "EMAIL_HOST_PASSWORD": "s3cr/t",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
        "EMAIL_TIMEOUT": None,
    }


def test_smtps_is_ssl_on_465_by_default():
    config = email_config("smtps://relay.example.com?timeout=10")
    assert (config["EMAIL_PORT"], config["EMAIL_USE_SSL"], config["EMAIL_USE_TLS"]) == (
        465,
        True,
        False,
    )
    assert config["EMAIL_TIMEOUT"] == 10
    assert config["EMAIL_HOST_USER"] == ""


def test_plain_smtp_defaults_to_port_25():
    assert email_config("smtp://mail.internal")["EMAIL_PORT"] == 25


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("console://", "django.core.mail.backends.console.EmailBackend"),
        ("locmem://", "django.core.mail.backends.locmem.EmailBackend"),
        ("dummy://", "django.core.mail.backends.dummy.EmailBackend"),
    ],
)
def test_backends_without_a_server(url, backend):
    assert email_config(url) == {"EMAIL_BACKEND": backend}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("imap://mail.example.com", "scheme 'imap'"),
        ("mail.example.com", "scheme '(none)'"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.com/?tls=1&ssl=1", "both tls and ssl"),
        ("smtp://mail.example.com/?starttls=1", "unknown options: starttls"),
        ("smtp://mail.example.com:smtp/", "not a number"),
        ("smtp://mail.example.com/?timeout=soon", "not a number"),
    ],
)
def test_email_url_refusals_say_what_is_wrong(url, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        email_config(url)


def test_cache_urls():
    assert cache_config("redis://r.example.com:6379/2") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://r.example.com:6379/2",
    }
    assert cache_config("locmem://")["BACKEND"].endswith("LocMemCache")
    with pytest.raises(ImproperlyConfigured, match="CACHE_URL has the scheme 'memcached'"):
        cache_config("memcached://m.example.com")
