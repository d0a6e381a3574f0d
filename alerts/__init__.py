"""Alerts: pure rules (alerts.rules), the Alert record, and delivery channels (alerts.delivery)."""
