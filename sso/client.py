"""The OpenID Connect client (Authlib), built from settings.O2C_OIDC: discovery, the state and
nonce kept in the session, PKCE, and the ID token checked against the provider's keys."""

import json
import threading

from authlib.integrations.django_client import OAuth
from authlib.integrations.django_client.apps import DjangoOAuth2App
from django.conf import settings

#: The name Authlib keys its session entries by (``_state_o2c_<state>``).
NAME = "o2c"
#: Seconds o2c waits for the provider's discovery, keys and token endpoints.
TIMEOUT = 10

_lock = threading.Lock()
_clients: dict[str, DjangoOAuth2App] = {}


def enabled() -> bool:
    return bool(settings.O2C_OIDC)


def provider_client() -> DjangoOAuth2App | None:
    """The client for the configured provider, or None when single sign-on is off. One per
    configuration and process, so discovery and the keys are fetched once, not per sign-in."""
    config = settings.O2C_OIDC
    if not config:
        return None
    key = json.dumps(config, sort_keys=True)
    with _lock:
        if key not in _clients:
            _clients[key] = _build(config)
        return _clients[key]


def _build(config: dict) -> DjangoOAuth2App:
    endpoints = dict(config["endpoints"])
    metadata = {"issuer": config["issuer"], **endpoints}
    if config["discovery"]:
        metadata["server_metadata_url"] = f"{config['issuer']}/.well-known/openid-configuration"
    else:
        metadata["authorize_url"] = endpoints["authorization_endpoint"]
        metadata["access_token_url"] = endpoints["token_endpoint"]
    oauth = OAuth()
    return oauth.register(
        name=NAME,
        client_id=config["client_id"],
        client_secret=config["client_secret"],
        client_kwargs={
            "scope": " ".join(config["scopes"]),
            "code_challenge_method": "S256",
            "default_timeout": TIMEOUT,
        },
        **metadata,
    )
