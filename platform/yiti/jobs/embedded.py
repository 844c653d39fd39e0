"""A Huey consumer running inside another process (``yiti serve`` in embedded mode).

It starts the consumer's worker and scheduler threads without the signal handlers of
``Consumer.start()`` (those belong to the main thread of a worker process; here the web
server owns the signals). ``stop()`` sets the consumer's stop flag and joins the threads.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from huey.consumer import Consumer

    from yiti.jobs.service import Jobs

log = logging.getLogger("yiti.jobs")


class EmbeddedConsumer:
    def __init__(self, jobs: Jobs, *, workers: int = 2) -> None:
        self.jobs = jobs
        self.consumer: Consumer = jobs.huey.create_consumer(
            workers=workers, worker_type="thread", periodic=True,
            max_delay=jobs.settings.poll_max, check_worker_health=False)
        self._threads: list[threading.Thread] = []

    def start(self) -> EmbeddedConsumer:
        if self._threads:
            return self  # already running
        consumer = self.consumer
        consumer.scheduler.start()
        self._threads = [consumer.scheduler]
        for _, thread in consumer.worker_threads:
            thread.start()
            self._threads.append(thread)
        log.info("embedded job consumer started with %d worker thread(s)",
                 len(consumer.worker_threads))
        return self

    def stop(self, timeout: float = 10) -> None:
        self.consumer.stop_flag.set()
        for thread in self._threads:
            thread.join(timeout)

    def __enter__(self) -> EmbeddedConsumer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_consumer(jobs: Jobs, *, workers: int = 2) -> EmbeddedConsumer:
    """Start job worker threads in this process; call ``.stop()`` when done."""
    return EmbeddedConsumer(jobs, workers=workers).start()
