"""Webhooks: a project's endpoints hear of its audits, signed as Standard Webhooks specifies."""
