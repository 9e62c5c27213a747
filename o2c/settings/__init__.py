"""Split settings: base (shared), local (make run), test (pytest) and production."""
