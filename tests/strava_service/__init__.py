"""Tests: strava_service."""
