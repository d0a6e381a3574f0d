"""Tests: scale."""
