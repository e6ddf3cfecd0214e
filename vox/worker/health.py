"""Whether the worker is really working: what `/healthz` answers and when the worker gives up.

A stage is *stalled* when it has work (lag above zero) and has committed nothing for
`stall_timeout_s`, or when writes have kept failing for that long (an outage). A process that
still answers HTTP is not healthy by that alone: the adversarial review saw "ok" through a
ClickHouse outage and a broker that had moved. A stage stalled for `stall_exit_s` makes the
worker exit non-zero, for its supervisor to restart it (nothing is lost: offsets only move
after writes).

Pure: the caller passes the time (monotonic seconds).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Health:
    stall_timeout_s: float
    stall_exit_s: float  # 0: never exit
    started_at: float
    progress_at: dict[str, float] = field(default_factory=dict)  # stage -> last commit
    lag: dict[str, float] = field(default_factory=dict)  # stage -> messages behind
    failing_since: float | None = None  # first failure of the current run of failed writes
    last_error: str = ""

    def progressed(self, stage: str, now: float) -> None:
        self.progress_at[stage] = now

    def behind(self, stage: str, lag: float) -> None:
        self.lag[stage] = lag

    def failed(self, now: float, error: str = "") -> None:
        if self.failing_since is None:
            self.failing_since = now
        self.last_error = error or self.last_error

    def recovered(self) -> None:
        self.failing_since, self.last_error = None, ""

    def problems(self, now: float) -> list[tuple[str, float]]:
        """(what is wrong, for how many seconds) for each stalled stage or failing writes."""
        found = []
        if self.failing_since is not None and now - self.failing_since >= self.stall_timeout_s:
            found.append((f"writes failing{': ' + self.last_error if self.last_error else ''}", now - self.failing_since))
        for stage, lag in sorted(self.lag.items()):
            idle = now - self.progress_at.get(stage, self.started_at)
            if lag > 0 and idle >= self.stall_timeout_s:
                found.append((f"{stage} stage has {lag:.0f} messages to process and committed nothing", idle))
        return found

    def verdict(self, now: float) -> dict:
        """The /healthz body: status ok or stalled, with the reasons."""
        problems = self.problems(now)
        if not problems:
            return {"status": "ok"}
        return {"status": "stalled", "problems": [f"{what} for {seconds:.0f} s" for what, seconds in problems]}

    def should_exit(self, now: float) -> str | None:
        """The reason to stop the worker, once a problem has lasted `stall_exit_s`."""
        if self.stall_exit_s <= 0:
            return None
        lasting = [f"{what} for {seconds:.0f} s" for what, seconds in self.problems(now) if seconds >= self.stall_exit_s]
        return "; ".join(lasting) or None
