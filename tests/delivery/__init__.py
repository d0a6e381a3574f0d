"""Tests: delivery."""
