"""/healthz tells the truth: stalled while a stage has work and commits nothing, or writes keep
failing; ok again once it moves; an exit reason once a stall lasts."""

from __future__ import annotations

from vox.worker.health import Health


def test_a_stage_with_work_that_commits_nothing_is_stalled_until_it_moves() -> None:
    health = Health(stall_timeout_s=10, stall_exit_s=60, started_at=0)
    health.behind("ingest", 0)
    assert health.verdict(100)["status"] == "ok"  # idle with nothing to do is healthy
    health.behind("ingest", 500)
    health.progressed("ingest", 95)
    assert health.verdict(100) == {"status": "ok"}
    verdict = health.verdict(106)
    assert verdict["status"] == "stalled"
    assert verdict["problems"] == ["ingest stage has 500 messages to process and committed nothing for 11 s"]
    assert health.should_exit(106) is None
    assert "ingest stage" in health.should_exit(156)
    health.progressed("ingest", 157)
    assert health.verdict(158) == {"status": "ok"} and health.should_exit(158) is None


def test_writes_failing_for_long_enough_are_a_stall_and_a_recovery_clears_it() -> None:
    health = Health(stall_timeout_s=10, stall_exit_s=0, started_at=0)
    health.failed(100, "ClickHouse unreachable")
    health.failed(105)
    assert health.verdict(109)["status"] == "ok"
    assert health.verdict(111)["problems"] == ["writes failing: ClickHouse unreachable for 11 s"]
    assert health.should_exit(10_000) is None  # stall_exit_s = 0: never exits
    health.recovered()
    assert health.verdict(112) == {"status": "ok"}
