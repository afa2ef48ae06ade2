"""Web Push notifications for Helldivers 1 campaign transitions.

- ``api``: the subscription endpoints and the VAPID public key.
- ``endpoint``: validation of a browser PushSubscription, and the SSRF guard (subscribe and send time).
- ``subscriptions``: the SQL of subscriptions and per-notification deliveries.
- ``relay``: the outbox relay the poller calls after its ingest commit.
- ``fanout``: the SQS consumer: one outbox message → every matching subscription, exactly once.
- ``sender``: encryption (aes128gcm), VAPID signing and the pinned, pooled HTTP delivery.
- ``local_service``: a Web Push service on loopback for ``frontline dev``, tests and the benchmark.

See docs/push.md.
"""
