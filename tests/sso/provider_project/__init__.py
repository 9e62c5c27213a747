"""A small OpenID provider (django-oidc-provider) that the single sign-on tests sign in against,
run as its own process on loopback with its own settings and SQLite file."""
