"""Connectors: FIT files and Strava, translated into loadmon.domain records (never touching the database)."""
