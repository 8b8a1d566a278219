"""Projects: creation, API keys and their scopes, declared time zones, what has arrived,
and the erasure of a user's data.
"""
