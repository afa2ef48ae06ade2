"""The Helldivers 1 campaign tracker: upstream client and models, ingest, poller, simulator."""
