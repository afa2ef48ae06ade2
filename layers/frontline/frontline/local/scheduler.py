"""Fire template.yaml's Schedule events at their declared rates (first firing at start-up)."""

from __future__ import annotations

import logging
import threading

from frontline.local import invoke
from frontline.local.events import scheduled_event
from frontline.local.template import Application, Schedule

log = logging.getLogger("frontline.local.scheduler")


class Scheduler:
    def __init__(self, app: Application, speedup: float = 1.0):
        self.app = app
        self.speedup = speedup
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for schedule in self.app.schedules:
            thread = threading.Thread(target=self._run, args=(schedule,), name=f"schedule-{schedule.name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _run(self, schedule: Schedule) -> None:
        function = self.app.functions[schedule.function]
        while not self.stopping.is_set():
            try:
                invoke.invoke(function, scheduled_event(schedule.name, schedule.input))
            except Exception:
                log.exception("scheduled run of %s failed", schedule.function)
            self.stopping.wait(schedule.rate_seconds / self.speedup)
