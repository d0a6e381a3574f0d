"""Tests: strava."""
