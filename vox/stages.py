"""The keyed stages a deployment runs (`VOX_STAGES`): built-in ones by name, others by import
path, in order (`customers` is three: content, whose resolved votes feed customers, whose sweeps
feed the population, whose cuts go back to customers)."""

from __future__ import annotations

import importlib

from vox.core.stage import KeyedStage
from vox.errors import ConfigError
from vox.settings import Settings

BUILT_IN = {"customers": ("vox.core.customers.stage:CONTENT", "vox.core.customers.stage:CUSTOMERS",
                           "vox.core.customers.stage:POPULATION_STAGE"),
            "sentiment": ("vox.core.sentiment.stage:SENTIMENT",),
            "leaders": ("vox.core.leaders.stage:LEADERS",)}


def declared_stages(settings: Settings) -> list[KeyedStage]:
    stages = []
    for name in (part.strip() for part in settings.stages.split(",")):
        for path in BUILT_IN.get(name, (name,)):
            stages.append(_load(name, path))
    topics = [stage.topic for stage in stages]
    if len(set(topics)) < len(topics):
        raise ConfigError("VOX_STAGES: two stages read the same topic")
    return stages


def _load(name: str, path: str) -> KeyedStage:
    module, _, attribute = path.partition(":")
    try:
        stage = getattr(importlib.import_module(module), attribute) if attribute else None
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"VOX_STAGES: cannot load stage {name!r}: {exc}") from None
    if not isinstance(stage, KeyedStage):
        raise ConfigError(f"VOX_STAGES: {name!r} is not a built-in stage ({', '.join(BUILT_IN)}) "
                          "nor module:NAME of a KeyedStage")  # fmt: skip
    return stage
