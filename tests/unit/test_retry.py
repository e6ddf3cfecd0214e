"""Only what can heal is retried: an outage pauses, anything deterministic is raised at once."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from vox.worker.retry import Patient, can_heal
from vox.errors import RefusedError, UnreachableError


def flaky(failures: list[Exception]):
    calls = []

    async def call() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "done"

    return call, calls


def test_reachability_errors_are_retried_until_they_heal() -> None:
    events = []
    patient = Patient(retry_max_s=0.01, on_failure=lambda exc: events.append("fail"), on_recovery=lambda: events.append("ok"))
    call, calls = flaky([UnreachableError("down"), KafkaConnectionError(), ConnectionRefusedError()])
    assert asyncio.run(patient.send(call)) == "done"
    patient.close()
    assert len(calls) == 4 and events == ["fail", "fail", "fail", "ok"]


@pytest.mark.parametrize("error", [RefusedError("Code: 60. Table vox.interactions doesn't exist"), TypeError("bug"),
                                   MessageSizeTooLargeError(), ValueError("bad")])  # fmt: skip
def test_deterministic_errors_are_raised_at_once(error: Exception) -> None:
    patient = Patient(retry_max_s=0.01)
    call, calls = flaky([error])
    with pytest.raises(type(error)):
        asyncio.run(patient.send(call))
    patient.close()
    assert len(calls) == 1 and not can_heal(error)


def test_a_blocking_store_call_that_is_refused_is_raised_from_the_store_thread() -> None:
    patient = Patient(retry_max_s=0.01)

    def refuse() -> None:
        raise RefusedError("Syntax error")

    with pytest.raises(RefusedError):
        asyncio.run(patient.call(refuse))
    patient.close()
