"""Settings modules: base (shared), dev (demo), test, production."""
