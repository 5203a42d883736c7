"""The Deploy page: live deployments, trying a request and the service's health."""
