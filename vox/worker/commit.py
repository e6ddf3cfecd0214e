"""The commit order of a batch, for every stage of the worker: written once, here.

A batch's effects are made durable in this order, and the consumer's offsets only after all of
them. A crash between two steps replays the batch from its last committed offset, and every
step is idempotent against what an earlier attempt already did:

1. **announce** (Kafka): dead letters to `vox.dlq`, keyed records to their stage topics, a
   stage's output messages (`vox.segments`). Re-sent on a replay: a dead letter is keyed by its
   input position, a keyed record carries its input position (the stage recognises it), an
   output message is at least once (a move is announced again rather than never).
2. **store** (ClickHouse): rows (`interactions`, `dead_letters`, a stage's tables). A replayed
   row is skipped by its event id or rewritten under the same deterministic key.
3. **keep** (the stage's changelogged table): each touched key's state, holding the offset it
   has applied, so a record re-read after a restart is not applied twice.
4. **mark** (`ingest_progress`): the watermarks of `vox.core.continuity`. They may lag what is
   written (a lagging stretch is read again and recognised), never lead it.
5. **offsets** (Kafka): committed by the caller once `commit` returns.

Kafka before ClickHouse: a record lost between the two would be lost for good (its event is
stored, so it is never routed again), while one sent twice is recognised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable

Step = Callable[[], Awaitable[None]]


async def nothing() -> None:
    return None


@dataclass(frozen=True)
class Commit:
    announce: Step = nothing
    store: Step = nothing
    keep: Step = nothing
    mark: Step = nothing

    async def run(self) -> None:
        for step in (self.announce, self.store, self.keep, self.mark):
            await step()
