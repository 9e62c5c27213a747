"""The worker watch: which Celery workers are alive, what they consume, and the integration
alerts raised when one falls silent or a queue has no live worker."""
