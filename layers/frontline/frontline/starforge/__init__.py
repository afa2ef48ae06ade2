"""StarForge: Gems of War hero-profile snapshots, stored raw and normalized into hero tables (seed 003).

Modules: ``settings`` (environment), ``models`` (pydantic edges), ``ingest`` (POST a snapshot),
``etl`` (claim, parse, set-based upserts, error classification), ``worker`` (the SQS record handler),
``queries`` (the read API's SQL), ``api`` (HTTP routes), ``catalog`` (catalog seeding),
``generator`` (realistic synthetic payloads), ``cli`` (``frontline starforge ...``).
"""
