"""The HTTP layer: routes per domain (each parses, calls one service function, and returns),
their request and response schemas, and the dependencies they share.
"""
