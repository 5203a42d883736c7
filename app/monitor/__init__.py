"""The Monitor page: live traffic, drift and alerts, and retraining with its policies."""
