"""One thread for every ClickHouse call of the worker, and patient retries.

chDB and clickhouse-driver block, and neither connection may be used by two threads at once:
all calls go through one worker thread, off the event loop. A failed call is retried with
capped exponential back-off, forever: an outage pauses consumption (offsets do not advance)
instead of dropping or half-writing batches.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any, Awaitable, Callable

log = logging.getLogger("vox.retry")


class Patient:
    def __init__(self, retry_max_s: float = 30.0, on_failure: Callable[[], None] | None = None,
                 on_duration: Callable[[float], None] | None = None):  # fmt: skip
        self.retry_max_s = retry_max_s
        self.on_failure, self.on_duration = on_failure, on_duration
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vox-clickhouse")

    async def call(self, blocking: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking ClickHouse call on the store thread until it succeeds."""
        loop = asyncio.get_running_loop()

        async def attempt() -> Any:
            started = perf_counter()
            result = await loop.run_in_executor(self._executor, blocking, *args)
            if self.on_duration:
                self.on_duration(perf_counter() - started)
            return result

        return await self.send(attempt)

    async def send(self, coroutine: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Await a coroutine (a Kafka publication, a store call) until it succeeds."""
        delay = 0.5
        while True:
            try:
                return await coroutine(*args)
            except Exception as exc:  # noqa: BLE001 - any failure is retried, and logged
                if self.on_failure:
                    self.on_failure()
                log.error("%s failed, retrying in %.1f s: %s", getattr(coroutine, "__name__", "call"), delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
