"""Competence, implication, value and co-production role of one customer, as of a time.

Each component is in [0, 1] and says one thing an analyst can check; a score is the weighted
mean of its components times 100. Components that are rates (approval, docs share, accuracy)
are shrunk toward a neutral prior until there is evidence, so that a customer seen three times
is neither an expert nor a novice by accident.
"""

from __future__ import annotations

from typing import Callable

from dataclasses import dataclass

from vox.core.customers.config import COMPETENCE_COMPONENTS, IMPLICATION_COMPONENTS, ScoringConfig
from vox.core.customers.state import DAY, NEVER, CustomerState

ROLES = ("executant", "assistant_marketing", "relais", "apporteur_de_solutions")

#: The feed (`ScoringConfig.feeds`) without which a component cannot be measured for anyone; the
#: others (breadth, recognition, frequency, durability) every event feeds.
NEEDS = {
    "c_quality": "contributions", "c_depth": "contributions", "c_learning": "clicks", "c_accuracy": "ratings",
    "i_depth": "clicks", "i_co_creation": "co_creation", "i_community": "posts", "i_purchases": "purchases",
}  # fmt: skip
PROVISIONAL, ESTABLISHED = "provisional", "established"


def saturate(x: float, k: float) -> float:
    """x / (x + k): 0 at 0, one half at k, approaching 1; always rising with x."""
    return x / (x + k) if x > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Scores:
    as_of: float
    competence: float
    implication: float
    competence_parts: dict[str, float]
    implication_parts: dict[str, float]
    value: float  # decayed spend
    recency_days: float  # since the last purchase (inf: never)
    frequency: float  # decayed purchases
    monetary: float  # decayed spend per decayed purchase
    role: str
    days_since_active: float
    left_out: tuple[str, ...] = ()  # components with no evidence yet, not in the scores ("c_quality", "i_depth")
    not_observed: tuple[str, ...] = ()  # components nothing this deployment sees can feed: out for everyone
    competence_evidence: float = 0.0  # see `ScoringConfig.established_competence_evidence`
    observed_days: float = 0.0  # since the first signal: the implication's evidence
    competence_established: bool = False
    implication_established: bool = False

    @property
    def competence_level_evidence(self) -> str:
        return ESTABLISHED if self.competence_established else PROVISIONAL

    @property
    def implication_level_evidence(self) -> str:
        return ESTABLISHED if self.implication_established else PROVISIONAL


def half_lives(config: ScoringConfig) -> tuple[float, float, float]:
    return (config.competence_half_life_days * DAY, config.implication_half_life_days * DAY,
            config.value_half_life_days * DAY)  # fmt: skip


def weighted(parts: dict[str, float], weights: dict[str, float], unobserved: frozenset[str] = frozenset()) -> float:
    """Weighted mean of the components times 100, leaving out those with no evidence at all (for
    this customer, or for anyone in this deployment): a forum without clickstream says nothing of
    learning or visit depth, and a prior standing in for them would only pull everyone toward the
    middle."""
    used = [name for name in parts if name not in unobserved and weights[name] > 0] or list(parts)
    total = sum(weights[name] for name in used)
    return 100.0 * sum(parts[name] * weights[name] for name in used) / total if total else 0.0


def score(state: CustomerState, as_of: float, config: ScoringConfig) -> Scores:
    h = half_lives(config)

    d = state.decayer(as_of, h)

    not_observed = tuple(sorted(name for name, feed in NEEDS.items() if feed not in config.feeds))
    competence_parts, competence_unobserved = _competence(state, as_of, config, h, d)
    implication_parts, implication_unobserved, days_since_active = _implication(state, as_of, config, d)
    competence_unobserved |= {name[2:] for name in not_observed if name.startswith("c_")}
    implication_unobserved |= {name[2:] for name in not_observed if name.startswith("i_")}
    evidence = d("text_items") + d("questions") + d("pos_votes") + d("neg_votes") + d("rated") + d("views") / 10
    observed_days = max(0.0, (as_of - state.first_seen) / DAY) if state.first_seen > NEVER else 0.0
    spend, bought = d("spend"), d("purchases_value")
    recency_days = (as_of - state.last_purchase) / DAY if state.last_purchase > 0 else float("inf")
    return Scores(
        as_of=as_of,
        competence=weighted(competence_parts, config.competence_weights, competence_unobserved),
        implication=weighted(implication_parts, config.implication_weights, implication_unobserved),
        competence_parts=competence_parts,
        implication_parts=implication_parts,
        value=spend,
        recency_days=recency_days,
        frequency=bought,
        monetary=spend / bought if bought else 0.0,
        role=_role(d),
        days_since_active=days_since_active,
        left_out=tuple(sorted(({f"c_{n}" for n in competence_unobserved} | {f"i_{n}" for n in implication_unobserved})
                              - set(not_observed))),
        not_observed=not_observed,
        competence_evidence=evidence,
        observed_days=observed_days,
        competence_established=evidence >= config.established_competence_evidence,
        implication_established=observed_days >= config.established_implication_days,
    )  # fmt: skip


Decayed = Callable[[str], float]


def _competence(state: CustomerState, as_of: float, config: ScoringConfig, h: tuple[float, float, float],
                d: Decayed) -> tuple[dict[str, float], frozenset[str]]:  # fmt: skip
    """The competence components, and those without evidence yet."""
    domains = state.sketch_count(state.domains, as_of, h[0])
    products = state.sketch_count(state.products, as_of, h[0])
    breadth = 0.5 * saturate(domains, config.breadth_domains_k) + 0.5 * saturate(products, config.breadth_products_k)
    pos, neg = d("pos_votes"), d("neg_votes")
    approval = (pos + 1.0) / (pos + neg + 2.0)  # Laplace: one up and one down assumed
    approval_part = 0.5 + (approval - 0.5) * saturate(pos + neg, config.quality_votes_k) * 2 if pos + neg else 0.5
    approval_part = min(1.0, max(0.0, approval_part))
    answers, questions = d("answers"), d("questions")
    answer_share = (answers + 0.5) / (answers + questions + 1.0)  # half-half assumed before evidence
    acceptance = (d("accepted") + config.acceptance_prior) / (answers + 1.0)
    quality = (approval_part + min(1.0, acceptance / (2 * config.acceptance_prior + 1e-9) * 0.5) + answer_share) / 3
    items = d("text_items")
    mean_chars = (d("text_chars") + config.detail_prior_chars * config.detail_prior_items) / \
        (items + config.detail_prior_items) if items + config.detail_prior_items else 0.0  # fmt: skip
    depth = saturate(mean_chars, config.detail_chars_k)
    givers = state.sketch_count(state.givers, as_of, h[0])
    recognition = 0.7 * saturate(givers, config.recognition_givers_k) + 0.3 * saturate(d("positive_received"), 10)
    views, learning_views = d("views"), d("learning_views")
    prior = config.learning_prior_views
    learning_share = (learning_views + config.learning_share_prior * prior) / (views + prior) if views + prior else 0
    learning = min(1.0, learning_share / 0.5)  # half the pages on docs or tutorials: as good as it gets
    rated = d("rated")
    prior_reviews = config.accuracy_prior_reviews
    mean_error = (d("abs_error") + 0.5 * config.accuracy_error_scale * prior_reviews) / (rated + prior_reviews) \
        if rated + prior_reviews else 0.5 * config.accuracy_error_scale  # fmt: skip
    accuracy = max(0.0, 1.0 - mean_error / config.accuracy_error_scale)
    competence_parts = dict(zip(COMPETENCE_COMPONENTS, (breadth, quality, depth, recognition, learning, accuracy)))
    # Quality is judged once they have written something here (votes received are about their
    # writing; keyed to that and not to the votes, a helpful vote can only raise competence).
    competence_unobserved = frozenset(name for name, evidence in (
        ("quality", d("reviews") + d("posts")), ("depth", items), ("learning", views), ("accuracy", rated),
    ) if evidence <= 0)  # fmt: skip
    return competence_parts, competence_unobserved


def _implication(state: CustomerState, as_of: float, config: ScoringConfig,
                 d: Decayed) -> tuple[dict[str, float], frozenset[str], float]:  # fmt: skip
    """The implication components, those without evidence yet, and the days since active."""
    # -1: never acted themselves (only replied to, mentioned or voted for), as `recency_days`
    # says -1 for never bought: no sentinel time ever reaches a column
    acted = state.last_action > NEVER
    days_since_active = max(0.0, (as_of - state.last_action) / DAY) if acted else -1.0
    recency = 2.0 ** (-days_since_active / config.recency_half_life_days) if acted else 0.0
    frequency = 0.7 * saturate(d("actions"), config.frequency_k) + 0.3 * recency
    durability = state.active_weeks(as_of, config.durability_weeks) / config.durability_weeks
    sessions, clicks, dwell_n = d("sessions"), d("clicks"), d("dwell_n")
    pages = saturate(clicks / sessions, config.pages_per_session_k) if sessions else 0.0
    dwell = saturate(d("dwell_s") / dwell_n, config.dwell_seconds_k) if dwell_n else 0.0
    session_depth = (pages + dwell) / 2
    # without visits (no clickstream) the per-visit rates are unknown, not zero: totals only
    share = config.per_session_share if sessions else 0.0
    per = 1.0 / sessions if sessions else 0.0

    def blend(total: float, k_total: float, k_per_session: float) -> float:
        return (1 - share) * saturate(total, k_total) + share * saturate(total * per, k_per_session)

    co_creation = blend(d("votes_cast") + 3 * d("ideas"), config.co_creation_k, config.co_creation_per_session_k)
    community = blend(d("posts"), config.community_k, config.community_per_session_k)
    purchases = blend(d("purchases"), config.purchases_k, config.purchases_per_session_k)
    implication_parts = dict(zip(IMPLICATION_COMPONENTS,
                                 (frequency, durability, session_depth, co_creation, community, purchases)))  # fmt: skip
    implication_unobserved = frozenset() if sessions or dwell_n else frozenset({"depth"})
    return implication_parts, implication_unobserved, days_since_active


def _role(d: Decayed) -> str:
    """The marketing role their actions fit best (docs/glossary.md)."""
    mix = {
        "executant": 0.2 * d("clicks") + d("purchases"),
        "assistant_marketing": 3 * d("reviews") + d("review_votes_cast"),
        "relais": 3 * d("shares") + d("mentions_made"),
        "apporteur_de_solutions": 3 * d("answers_recent") + 4 * d("ideas"),
    }
    return max(ROLES, key=lambda r: mix[r]) if any(mix.values()) else "executant"
