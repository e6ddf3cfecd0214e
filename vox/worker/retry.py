"""One thread for every ClickHouse call of the worker, and patient retries of what can heal.

chDB and clickhouse-driver block, and neither connection may be used by two threads at once:
all calls go through one worker thread, off the event loop. A call that fails because a service
is out of reach (ClickHouse or Kafka down, a timeout, a leader moving) is retried with capped,
jittered exponential back-off (tenacity), forever: an outage pauses consumption (offsets do not advance)
instead of dropping or half-writing batches. Anything else (a refused statement, a message the
broker will never take, a bug) is deterministic: retrying would hang the worker on it, so it is
raised, and the stage decides (dead-letter what a single message caused, or stop the worker
with the reason).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any, Awaitable, Callable

from aiokafka.errors import KafkaError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_random_exponential

from vox.errors import UnreachableError

log = logging.getLogger("vox.retry")

# Kafka errors that say "never", whatever their `retriable` flag: everything else from Kafka is
# taken for an outage (aiokafka marks some outage errors, its own timeouts among them, not retriable).
_NEVER = ("MessageSizeTooLargeError", "RecordTooLargeError", "InvalidTopicError", "TopicAuthorizationFailedError",
          "ClusterAuthorizationFailedError", "UnsupportedVersionError", "InvalidRequiredAcksError",
          "ProducerClosed", "IllegalStateError", "IllegalOperation")  # fmt: skip


def can_heal(exc: BaseException) -> bool:
    """True for failures that retrying the same call can get past: reachability, not content."""
    if isinstance(exc, (UnreachableError, ConnectionError, TimeoutError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, KafkaError):
        return type(exc).__name__ not in _NEVER
    return False


class Patient:
    def __init__(self, retry_max_s: float = 30.0, on_failure: Callable[[BaseException], None] | None = None,
                 on_duration: Callable[[float], None] | None = None,
                 on_recovery: Callable[[], None] | None = None):  # fmt: skip
        self.retry_max_s = retry_max_s
        self.on_failure, self.on_duration, self.on_recovery = on_failure, on_duration, on_recovery
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vox-clickhouse")

    async def call(self, blocking: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking ClickHouse call on the store thread until it succeeds or is refused."""
        loop = asyncio.get_running_loop()

        async def attempt() -> Any:
            started = perf_counter()
            result = await loop.run_in_executor(self._executor, blocking, *args)
            if self.on_duration:
                self.on_duration(perf_counter() - started)
            return result

        attempt.__name__ = getattr(blocking, "__name__", "call")
        return await self.send(attempt)

    async def send(self, coroutine: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """Await a coroutine (a Kafka publication, a store call) until it succeeds; raise what
        retrying cannot heal. Back-off by tenacity: exponential from 0.5 s, capped at
        `retry_max_s`, with full jitter, so that workers do not retry in step."""
        name, failed = getattr(coroutine, "__name__", "call"), False

        def before_sleep(state: RetryCallState) -> None:
            nonlocal failed
            failed = True
            exc = state.outcome.exception() if state.outcome else None
            if self.on_failure and exc is not None:
                self.on_failure(exc)
            pause = state.next_action.sleep if state.next_action else 0.0
            log.error("%s failed, retrying in %.1f s: %s", name, pause, exc)

        retrying = AsyncRetrying(retry=retry_if_exception(can_heal), reraise=True, before_sleep=before_sleep,
                                 wait=wait_random_exponential(multiplier=0.5, max=self.retry_max_s))  # fmt: skip
        async for attempt in retrying:  # forever: an outage pauses, it does not drop
            with attempt:
                result = await coroutine(*args)
        if failed and self.on_recovery:
            self.on_recovery()
        return result

    def close(self) -> None:
        self._executor.shutdown(wait=True)
