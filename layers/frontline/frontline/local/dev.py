"""``frontline dev``: the whole system on one machine.

Embedded PostgreSQL (data in the state folder, reused across runs) unless POSTGRES_URL is set,
the Helldivers 1 upstream simulator unless H1_API_URL is set, migrations applied, every HttpApi route of template.yaml served on loopback, every Schedule fired at
its rate, every SQS queue stood in for by an in-process broker. Ctrl-C stops it all, database included.
"""

from __future__ import annotations

import logging
import os
import shlex
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from frontline import db, migrate
from frontline.config import settings
from frontline.local import queues, template
from frontline.local.postgres import EmbeddedPostgres
from frontline.local.scheduler import Scheduler
from frontline.local.server import make_server
from frontline.push import local_service

log = logging.getLogger("frontline.dev")


@dataclass
class DevOptions:
    template_path: Path
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 3000
    schedules: bool = True
    speedup: float = 1.0
    simulator_speed: float = 60.0


@dataclass
class DevRuntime:
    """Start-up and shut-down of the local system, usable from the CLI and from tests."""

    options: DevOptions
    started: list[Callable[[], None]] = field(default_factory=list)  # stop actions, last started first
    url: str = ""

    def start(self) -> None:
        opts = self.options
        opts.state_dir.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("POSTGRES_URL"):
            server = EmbeddedPostgres(opts.state_dir / "pgdata")
            self.started.append(server.stop)
            os.environ["POSTGRES_URL"] = server.ensure_database("frontline")
        push_service, push_environment = local_service.start_for_dev(opts.state_dir)
        self.started.append(push_service.stop)
        os.environ.update(push_environment)
        app = template.read(opts.template_path)
        # Each function's environment from template.yaml, less what only makes sense in AWS.
        for function in app.functions.values():
            for key, value in function.environment.items():
                if key not in ("DB_SECRET_ARN", "MIGRATIONS_DIR"):
                    os.environ.setdefault(key, value)
        if not os.environ.get("H1_API_URL"):
            from frontline.h1.simulator import Simulator

            simulator = Simulator.generated(speed=opts.simulator_speed).start()
            self.started.append(simulator.stop)
            os.environ["H1_API_URL"] = simulator.url
        settings.cache_clear()
        db.reset()
        applied = migrate.migrate()
        log.info("migrations: %s", ", ".join(applied) or "already current")

        broker = queues.install(app)
        broker.start()
        self.started.append(broker.stop)

        httpd = make_server(app, opts.host, opts.port)
        thread = threading.Thread(target=httpd.serve_forever, name="http", daemon=True)
        thread.start()
        self.started.append(httpd.server_close)
        self.started.append(httpd.shutdown)
        self.url = f"http://{opts.host}:{httpd.server_address[1]}"
        self.app = app

        if opts.schedules:
            scheduler = Scheduler(app, opts.speedup)
            scheduler.start()
            self.started.append(scheduler.stop)

    def stop(self) -> None:
        while self.started:
            action = self.started.pop()
            try:
                action()
            except Exception:
                log.exception("while stopping")
        db.reset()

    def describe(self) -> str:
        lines = [f"Frontline is running at {self.url}", "Routes:"]
        lines += [f"  {r.method:6} {self.url}{r.path}  -> {r.function}" for r in self.app.routes]
        if self.options.schedules and self.app.schedules:
            lines.append("Schedules:")
            lines += [f"  every {s.rate_seconds}s -> {s.function}" for s in self.app.schedules]
        if self.app.queue_triggers:
            lines.append("Queues (in-process):")
            lines += [f"  {t.queue} -> {t.function}" for t in self.app.queue_triggers]
        lines.append(f"Database: {os.environ['POSTGRES_URL']}")
        lines.append(f"  for the CLI in another shell: export POSTGRES_URL={shlex.quote(os.environ['POSTGRES_URL'])}")
        lines.append(f"Helldivers 1 API: {os.environ['H1_API_URL']}")
        lines.append("Press Ctrl-C to stop.")
        return "\n".join(lines)


def run(options: DevOptions) -> int:
    runtime = DevRuntime(options)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        runtime.start()
        print(runtime.describe(), flush=True)
        stop.wait()
        print("\nStopping…", flush=True)
    finally:
        runtime.stop()
    return 0
