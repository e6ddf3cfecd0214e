"""`vox simulate`: write a simulated stream and its ground truth, or publish it live to Kafka."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from vox.errors import VoxError
from vox.settings import Settings
from vox.simulator.generate import SimConfig, Simulation
from vox.simulator.population import expected_cell
from vox.core.typology import CELL_NAMES

EVENTS_FILE = "events.jsonl"
TRUTH_FILE = "truth.json"


def ground_truth(sim: Simulation, invalid: list[dict]) -> dict:
    """What the stream was generated from: latents and expected cells, planted leaders,
    communicators and shifts, the invalid messages and where they are."""
    world, cfg = sim.world, sim.config
    customers = {
        c.id: {
            "competence": round(c.competence, 4),
            "implication": round(c.implication, 4),
            "cell": expected_cell(c.competence, c.implication),
            "topic_competence": {t: round(v, 4) for t, v in sorted(c.topic_competence.items())},
            "persona": c.persona,
            "role": c.role,
            "lang": c.lang,
            "events": sim.per_customer.get(c.id, 0),
        }
        for c in world.everyone
    }
    cells = {name: 0 for name in CELL_NAMES}
    for c in world.customers:
        cells[customers[c.id]["cell"]] += 1
    counts = sorted((sim.per_customer.get(c.id, 0) for c in world.customers), reverse=True)
    total = sum(counts) or 1

    def pct(q: float) -> int:
        return counts[min(len(counts) - 1, int(len(counts) * (1 - q)))] if counts else 0

    config = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(cfg).items()}
    return {
        "config": config,
        "counts": dict(sim.counts),
        "cells": cells,
        "events_per_customer": {
            "p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": counts[0] if counts else 0,
            "silent": sum(1 for n in counts if n == 0),
            "top_10pct_share": round(sum(counts[: max(1, len(counts) // 10)]) / total, 3),
        },  # fmt: skip
        "leaders": world.leaders,
        "communicators": world.communicators,
        "staff": [s.id for s in world.staff],
        "shifts": [{"subject_kind": s.subject_kind, "subject": s.subject, "start": s.start.isoformat(),
                    "magnitude": s.magnitude, "direction": s.direction} for s in sim.shifts],  # fmt: skip
        "products": {p.id: {"brand": p.brand, "category": p.category, "quality": round(p.quality, 3)}
                     for p in world.products},  # fmt: skip
        "invalid": invalid,
        "customers": customers,
    }


def _day_progress(config: SimConfig, enabled: bool) -> tuple[Callable[[int], None], Callable[[], None]]:
    from tqdm import tqdm

    bar = tqdm(total=config.days, unit="day", desc="simulating", disable=not enabled)

    def advance(day: int) -> None:
        bar.update(day - bar.n)

    return advance, bar.close


def write_simulation(config: SimConfig, out: Path, progress: bool = True) -> dict:
    """Write `events.jsonl` (arrival order) and `truth.json` into `out`; return the truth."""
    out.mkdir(parents=True, exist_ok=True)
    sim = Simulation(config)
    invalid: list[dict] = []
    advance, close = _day_progress(config, progress)
    with open(out / EVENTS_FILE, "wb") as events:
        line_number = 0
        for message in sim.events(advance):
            line_number += 1
            events.write(message.line + b"\n")
            if message.expected_reason:
                invalid.append({"line": line_number, "topic_family": message.family,
                                "reason_class": message.expected_reason})  # fmt: skip
    close()
    truth = ground_truth(sim, invalid)
    (out / TRUTH_FILE).write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    return truth


def publish_simulation(config: SimConfig, settings: Settings, rate: float, progress: bool = True) -> dict:
    """Publish the stream to Kafka at `rate` messages per second (0: as fast as possible)."""
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    from vox.kafka.topics import bootstrap, topic_names

    names = topic_names(settings)
    servers = bootstrap(settings)
    try:
        producer = KafkaProducer(bootstrap_servers=servers.split(","), linger_ms=10, acks="all",
                                 bootstrap_timeout_ms=int(settings.kafka_timeout_s * 1000))  # fmt: skip
    except KafkaError:
        raise VoxError(f"cannot reach Kafka at {servers}: is the broker running (`vox kafka status`)?") from None
    sim = Simulation(config, live=True)
    advance, close = _day_progress(config, progress)
    sent, started = 0, time.monotonic()
    for message in sim.events(advance):
        producer.send(names.for_family(message.family), value=message.line, key=message.key)
        sent += 1
        if rate > 0:
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    producer.flush()
    producer.close()
    close()
    return {"published": sent, **sim.counts}

