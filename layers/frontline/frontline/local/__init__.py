"""The local runtime: template.yaml's routes, schedules and queues served on one machine."""
