"""loadmon test suite."""
