"""An in-process stand-in for SQS with Lambda event source mappings.

Each queue declared in template.yaml gets a FIFO of messages; each SQS trigger gets a worker thread
that delivers batches to the function, honours ``batchItemFailures``, redelivers a failed message
after its visibility timeout (capped locally so development stays quick) and moves it to the
declared dead-letter queue after ``maxReceiveCount`` receives.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

from frontline.local import invoke
from frontline.local.events import sqs_record
from frontline.local.template import Application

log = logging.getLogger("frontline.local.queues")
LOCAL_VISIBILITY_CAP_SECONDS = 5.0


@dataclass
class Message:
    id: str
    body: str
    receive_count: int = 0
    visible_at: float = 0.0


class Broker:
    def __init__(self, app: Application):
        self.app = app
        self.messages: dict[str, deque[Message]] = {name: deque() for name in app.queues}
        self.cond = threading.Condition()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def send(self, queue: str, body: str) -> str:
        if queue not in self.messages:
            raise KeyError(f"no queue {queue!r} in template.yaml")
        message = Message(str(uuid.uuid4()), body)
        with self.cond:
            self.messages[queue].append(message)
            self.cond.notify_all()
        return message.id

    def depth(self, queue: str) -> int:
        with self.cond:
            return len(self.messages[queue])

    def start(self) -> None:
        for trigger in self.app.queue_triggers:
            thread = threading.Thread(target=self._consume, args=(trigger,), name=f"sqs-{trigger.queue}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        with self.cond:
            self.cond.notify_all()
        for thread in self.threads:
            thread.join(timeout=5)

    def _take_batch(self, queue: str, size: int) -> list[Message]:
        with self.cond:
            while not self.stopping.is_set():
                now = time.monotonic()
                ready = [m for m in self.messages[queue] if m.visible_at <= now][:size]
                if ready:
                    for m in ready:
                        self.messages[queue].remove(m)
                        m.receive_count += 1
                    return ready
                self.cond.wait(timeout=0.2)
        return []

    def _consume(self, trigger) -> None:
        function = self.app.functions[trigger.function]
        queue = self.app.queues[trigger.queue]
        while not self.stopping.is_set():
            batch = self._take_batch(trigger.queue, trigger.batch_size)
            if not batch:
                continue
            event = {"Records": [sqs_record(trigger.queue, m.id, m.body, m.receive_count) for m in batch]}
            try:
                result = invoke.invoke(function, event) or {}
                failed_ids = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:
                log.exception("%s failed on a batch from %s", trigger.function, trigger.queue)
                failed_ids = {m.id for m in batch}
            for message in batch:
                if message.id in failed_ids:
                    self._return_or_dead_letter(queue, message)

    def _return_or_dead_letter(self, queue, message: Message) -> None:
        with self.cond:
            if queue.dead_letter_queue and queue.max_receive_count and message.receive_count >= queue.max_receive_count:
                log.warning("message %s moved to %s", message.id, queue.dead_letter_queue)
                self.messages[queue.dead_letter_queue].append(Message(message.id, message.body))
            else:
                message.visible_at = time.monotonic() + min(queue.visibility_timeout, LOCAL_VISIBILITY_CAP_SECONDS)
                self.messages[queue.name].append(message)
            self.cond.notify_all()


_broker: Broker | None = None


def install(app: Application) -> Broker:
    global _broker
    _broker = Broker(app)
    return _broker


def broker() -> Broker:
    if _broker is None:
        raise RuntimeError("the local queue broker is not running (start `frontline dev`)")
    return _broker
