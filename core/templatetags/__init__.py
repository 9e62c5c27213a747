"""Template helpers shared by every app's Django templates and by the Jinja2 environment."""
