"""Monitoring: data drift against the training reference, live performance and alerts."""
