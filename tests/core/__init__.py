"""Foundation tests: config, storage, architecture, CLI docs."""
