"""loadmon: a self-hosted training-load monitor for runners."""
