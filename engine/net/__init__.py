"""Outbound network calls: the one safe HTTP client used by image fetching, webhooks and shop connectors."""
