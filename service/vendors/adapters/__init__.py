"""Vendor ingestion adapters: Segment/RudderStack, PostHog, Amplitude and Mixpanel.

Each module translates its vendor's requests into `VendorEvent`s and the shared ingestion
result back into the vendor's answers; nothing else. See `docs/INGESTION.md`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from service.vendors.adapters import amplitude, mixpanel, posthog, segment

Reading = Callable[[dict[str, Any]], tuple[dict[str, Any], str | None]]

READERS: dict[str, Reading] = {
    "segment": segment.reading,
    "rudderstack": segment.reading,
    "posthog": posthog.reading,
    "amplitude": amplitude.reading,
    "mixpanel": mixpanel.reading,
}


def reading(source: str, payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A stored raw event's properties and zone, read by the adapter of its source."""
    reader = READERS.get(source)
    if reader is None:
        return {}, None
    return reader(payload)
