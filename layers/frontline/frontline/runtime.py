"""The Lambda container's lifecycle: what a handler module does once its cold start's imports are done."""

from __future__ import annotations

import gc

# The StarForge handlers build thousands of objects per request and drop them all at its end: a
# 700-troop profile is about 3,000 pydantic models, dicts and lists alive until its write is sent. At
# CPython's default generation-0 threshold of 700 the collector ran about six times per profile over
# live objects, and every twenty profiles or so a full collection (20-30 ms) walked every object the
# imports made: 1.5-1.9 ms per ETL profile, and the full collections fell on about 6% of 500 KB
# ingests, right at their p95 (timed with gc.callbacks; docs/starforge.md).
GC_GENERATION0_THRESHOLD = 10_000


def end_cold_start() -> None:
    """Full collections skip every object alive now (``gc.freeze``), and a request's objects die by
    reference counting before the collector runs."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GENERATION0_THRESHOLD)
