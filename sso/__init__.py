"""Single sign-on: OpenID Connect sign-in, and identity-provider groups mapped to roles and
territories."""
