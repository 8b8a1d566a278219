"""Vendor events: the adapters that speak Segment, RudderStack, PostHog, Amplitude and
Mixpanel, and the mapping rules that turn a project's vendor events into native events
(matching, their storage, re-mapping of stored raw events, coverage).
"""
