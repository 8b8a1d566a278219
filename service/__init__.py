"""Retention Audit service: HTTP API, persistence, ingestion adapters, audit jobs and CLI."""

__version__ = "0.1.0"
