"""People in the UI: signing in and out, the Team page (accounts, tokens, settings) and the
Audit page."""
