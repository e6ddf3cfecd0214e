"""A topic's customers on Katz & Lazarsfeld's three dimensions, their credibility, the leader
score, the leader kind, and who leads (with hysteresis).

A count x becomes [0, 1] as **x / (x + m)**, m its median among the topic's candidates (the
customers with the evidence to lead: `min_contributions`, `min_recognisers`): a count means
something only against the same community's, so no constant has to fit one community's
volumes, and unlike a percentile it keeps how far above the others a customer stands (a leader
sought out by five times the median is 0.83, twice the median 0.67): leaders are the tail.
Shares are shares already. Each dimension is the mean of its components:

* who one is: active weeks (relative), regularity (active weeks over the weeks from their first
  to their last post), responses drawn (answers and replies their posts drew, per post, at most 1);
* what one knows: acceptances received (decayed, relative), positive votes received (decayed,
  relative), answer share (answers over answers and questions, one question assumed);
* whom one knows: distinct interlocutors, distinct customers who sought them out, PageRank
  centrality in the topic's graph (each relative).

Credibility = approval x recognition. Approval: 1 while what they post is approved at least as
often as not, else twice the approved share ((positive + accepted + 1) / (received + 2)): a
communicator of medium competence, approved 65 % of the time, keeps their credibility; a customer
the community mostly votes down loses it. Recognition: m / (m + 1), m the smaller of distinct
recognisers and distinct days of recognition (one friend voting a hundred times is one
recogniser: m = 1). Score = credibility x the better of two weighted means of the dimensions,
one per way of leading (seed 003): the expert's (`expert_weights`: what one knows first) and
the communicator's (`communicator_weights`: whom one knows and who one is, not what one knows).
One mean for both would let a competent customer nobody turns to outrank a communicator
everybody talks to. Kind: *expert* when what one knows is at least `expert_what` (2/3: on
average twice the candidates' median), else *communicator*: they lead by whom they know and how they
engage, with medium competence (seed 003).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable, Mapping

from vox.core.leaders.config import LeadersConfig
from vox.core.leaders.members import WEEK_S, Member

VOICE = "customer"  # staff and partners speak for the company: scored, never ranked (impartiality)
COMPONENTS = ("active_weeks", "regularity", "responses_drawn", "accepted", "positive_votes", "answer_share",
              "interlocutors", "seekers", "centrality")  # fmt: skip
DIMENSIONS = {"who": ("active_weeks", "regularity", "responses_drawn"),
              "what": ("accepted", "positive_votes", "answer_share"),
              "whom": ("interlocutors", "seekers", "centrality")}  # fmt: skip
RELATIVE = ("active_weeks", "accepted", "positive_votes", "interlocutors", "seekers", "centrality")


@dataclass(frozen=True)
class Standing:
    customer: str
    raw: dict[str, float]  # each component as counted (decayed counts in plain units)
    parts: dict[str, float]  # each component in [0, 1]
    who: float
    what: float
    whom: float
    credibility: float
    score: float
    kind: str
    candidate: bool  # has the evidence and the voice to lead
    flags: tuple[str, ...]


def raw_components(member: Member, centrality: float, decayed: Callable[[float], float]) -> dict[str, float]:
    made = member.made
    weeks = len(member.weeks)
    span = 1 + int(((member.last or 0) - (member.first or 0)) // WEEK_S) if member.first is not None else 1
    posts = member.contributions()
    answers, questions = made.get("answer", 0), made.get("question", 0)
    d = member.decayed
    return {
        "active_weeks": float(weeks),
        "regularity": min(1.0, weeks / span) if weeks else 0.0,
        "responses_drawn": min(1.0, member.responses / posts) if posts else 0.0,
        "accepted": decayed(d.get("accepted", 0.0)),
        "positive_votes": decayed(d.get("positive", 0.0)),
        "answer_share": answers / (answers + questions + 1),
        "interlocutors": member.talk.count(),
        "seekers": member.seekers.count(),
        "centrality": centrality,
        "contributions": float(posts),  # evidence, not a component
    }


def credibility(member: Member) -> float:
    good = member.positive + member.accepted
    approval = min(1.0, 2 * (good + 1) / (good + member.negative + 2))
    m = min(member.recognisers.count(), member.days.count())
    return approval * m / (m + 1)


def is_candidate(member: Member, config: LeadersConfig) -> bool:
    return (member.role == VOICE and member.contributions() >= config.min_contributions
            and member.seekers.count() + member.recognisers.count() >= config.min_recognisers)  # fmt: skip


def flags_of(member: Member, config: LeadersConfig) -> tuple[str, ...]:
    flags = []
    if member.role != VOICE:
        flags.append(member.role)  # staff, partner: never ranked
    if member.branded >= 5 and member.main_brand_share() >= config.single_brand_share:
        flags.append("single_brand")  # mostly about one brand: advice maybe not disinterested
    return tuple(flags)


def standings(members: Mapping[str, Member], centrality: Callable[[str], float], decayed: Callable[[float], float],
              config: LeadersConfig, only: set[str] | None = None, candidates: set[str] | None = None) -> dict[str, Standing]:  # fmt: skip
    """The standing of every member (with `only`: of the candidates and those), against the
    topic's candidates (found among the members unless given)."""
    if candidates is None:
        candidates = {key for key, m in members.items() if is_candidate(m, config)}
    wanted = members.keys() if only is None else candidates | {k for k in only if k in members}
    raws = {key: raw_components(members[key], centrality(key), decayed) for key in wanted}
    medians = {name: median([raws[key][name] for key in candidates]) for name in RELATIVE}
    paths = [(weights, sum(weights.values())) for weights in (config.expert_weights, config.communicator_weights)]
    out = {}
    for key in sorted(wanted):
        raw, member = raws[key], members[key]
        parts = dict(raw)
        for name in RELATIVE:
            parts[name] = relative(raw[name], medians[name])
        dims = {dim: sum(parts[c] for c in names) / len(names) for dim, names in DIMENSIONS.items()}
        cred = credibility(member)
        score = cred * max(sum(weights[d] * dims[d] for d in dims) / total for weights, total in paths)
        kind = "expert" if dims["what"] >= config.expert_what else "communicator"
        out[key] = Standing(key, raw, parts, dims["who"], dims["what"], dims["whom"], cred, score, kind,
                            key in candidates, flags_of(member, config))
    return out


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def relative(value: float, middle: float) -> float:
    """x / (x + m); with no candidates' median (m = 0), 1 for any x > 0."""
    if value <= 0:
        return 0.0
    return value / (value + middle) if middle > 0 else 1.0


def choose_leaders(current: list[str], standing: Mapping[str, Standing], config: LeadersConfig) -> list[str]:
    """The topic's leaders, best first: the top `top_k` candidates, except that a leader stays
    until below (1 - margin) of the bar (the k-th candidate's score) and a newcomer displaces the
    weakest leader only with a score (1 + margin) times theirs: ranks do not flap."""
    k, margin = config.top_k, config.margin
    ranked = sorted((s for s in standing.values() if s.candidate and s.score > 0), key=lambda s: (-s.score, s.customer))
    if not ranked:
        return []
    bar = ranked[min(k, len(ranked)) - 1].score
    kept = [c for c in current if c in standing and standing[c].candidate and standing[c].score >= bar * (1 - margin)]
    chosen = set(kept)
    for s in ranked:
        if s.customer in chosen:
            continue
        if len(kept) < k:
            kept.append(s.customer)
            chosen.add(s.customer)
            continue
        weakest = min(kept, key=lambda c: (standing[c].score, c))
        if s.score > standing[weakest].score * (1 + margin):
            kept.remove(weakest)
            chosen.discard(weakest)
            kept.append(s.customer)
            chosen.add(s.customer)
        else:
            break  # ranked best first: no one further down displaces anyone
    return sorted(kept, key=lambda c: (-standing[c].score, c))
