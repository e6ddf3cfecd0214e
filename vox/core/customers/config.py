"""Every weight, half-life and normalisation constant of the customer scores.

Set them as `VOX_SCORING__NAME` in the environment or under `[scoring]` in the VOX_CONFIG file;
docs/scoring.md gives the reasoning behind each default. A count x becomes a component in
[0, 1] through `x / (x + k)`: k is the count at which the component is half-way, so one more
action always raises it, and no single signal can push it past 1.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: What a deployment's events can show: clickstream (page views, sessions), purchases, written
#: contributions (reviews, answers, questions), forum posts, co-creation (votes cast by known
#: customers, ideas), star ratings (accuracy against a product's consensus).
Feed = Literal["clicks", "purchases", "contributions", "posts", "co_creation", "ratings"]
FEEDS: tuple[Feed, ...] = ("clicks", "purchases", "contributions", "posts", "co_creation", "ratings")
COMPETENCE_COMPONENTS = ("breadth", "quality", "depth", "recognition", "learning", "accuracy")
IMPLICATION_COMPONENTS = ("frequency", "durability", "depth", "co_creation", "community", "purchases")


class ScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- time -------------------------------------------------------------------------------
    competence_half_life_days: float = Field(180, gt=0, description="Know-how fades slowly.")
    implication_half_life_days: float = Field(30, gt=0, description="Involvement is what one did lately.")
    value_half_life_days: float = Field(90, gt=0, description="Spend of the last quarter weighs most.")
    recency_half_life_days: float = Field(14, gt=0, description="Recency factor halves every 2 weeks of silence.")
    durability_weeks: int = Field(12, ge=2, le=52, description="Window over which active weeks are counted.")
    vote_wait_days: float = Field(30, gt=0, description="How long, in event time, a vote on content not seen yet "
                                  "waits for it; then it is dropped from scoring (counted, never credited).")
    allowed_lateness_s: float = Field(600, ge=0, description="Events later than this are still counted, but consensus only uses reviews older than this.")

    # -- competence ------------------------------------------------------------------------
    competence_weights: dict[str, float] = Field(
        default_factory=lambda: {"breadth": 0.05, "quality": 0.20, "depth": 0.30, "recognition": 0.15,
                                 "learning": 0.35, "accuracy": 0.05},  # fmt: skip
        description="Share of each competence component.",
    )
    breadth_domains_k: float = Field(3, gt=0, description="Categories and topics engaged for half breadth.")
    breadth_products_k: float = Field(5, gt=0, description="Products engaged for half breadth.")
    quality_votes_k: float = Field(3, gt=0, description="Votes received before approval counts fully half.")
    detail_chars_k: float = Field(300, gt=0, description="Mean characters of reviews and answers for half depth.")
    detail_prior_chars: float = Field(150, ge=0, description="Mean length assumed before any review or answer.")
    detail_prior_items: float = Field(1, ge=0, description="Weight of that prior, in contributions.")
    acceptance_prior: float = Field(0.2, ge=0, le=1, description="Share of answers accepted, assumed before evidence.")
    recognition_givers_k: float = Field(5, gt=0, description="Distinct customers recognising them for half credit.")
    learning_share_prior: float = Field(0.25, ge=0, le=1, description="Docs/tutorial share assumed before evidence.")
    learning_prior_views: float = Field(4, ge=0, description="Weight of that prior, in page views.")
    accuracy_error_scale: float = Field(2.0, gt=0, description="Mean absolute error (stars) that counts as no accuracy.")
    accuracy_prior_reviews: float = Field(1, ge=0, description="Reviews of neutral accuracy assumed before evidence.")
    consensus_prior_reviews: float = Field(2, ge=0, description="Pseudo-reviews at 3.5 stars in a product's consensus.")
    consensus_min_reviews: int = Field(2, ge=1, description="Reviews a product needs before it is a consensus.")

    # -- implication ------------------------------------------------------------------------
    implication_weights: dict[str, float] = Field(
        default_factory=lambda: {"frequency": 0.10, "durability": 0.05, "depth": 0.45, "co_creation": 0.15,
                                 "community": 0.15, "purchases": 0.10},  # fmt: skip
        description="Share of each implication component.",
    )
    frequency_k: float = Field(60, gt=0, description="Decayed actions for half frequency.")
    pages_per_session_k: float = Field(4, gt=0, description="Pages per session for half depth.")
    dwell_seconds_k: float = Field(30, gt=0, description="Seconds per page for half depth.")
    per_session_share: float = Field(0.7, ge=0, le=1, description="Share of co-creation, community and purchases "
                                     "measured per visit rather than in total (heavy users are not the only involved ones).")
    co_creation_per_session_k: float = Field(1.5, gt=0, description="Votes cast plus 3 per idea, per session, for half.")
    community_per_session_k: float = Field(0.3, gt=0, description="Posts per session for half.")
    purchases_per_session_k: float = Field(0.1, gt=0, description="Purchases per session for half.")
    co_creation_k: float = Field(10, gt=0, description="Votes cast plus 3 per idea for half co-creation.")
    community_k: float = Field(5, gt=0, description="Posts for half community participation.")
    purchases_k: float = Field(2, gt=0, description="Purchases for half credit.")

    # -- what the deployment sends -----------------------------------------------------------
    feeds: tuple[Feed, ...] = Field(
        FEEDS, description="What this deployment's events can show at all (JSON list). A component no listed feed "
        "reaches is left out of everyone's score and named `not_observed`: a forum without clickstream or purchases "
        "says `[\"contributions\", \"posts\", \"co_creation\"]`.")

    # -- typology ---------------------------------------------------------------------------
    cut_mode: Literal["fixed", "adaptive"] = Field("adaptive", description="Population shares, or fixed cut points.")
    competence_cuts: tuple[float, float] = Field((33.3, 66.7), description="low-to-medium and medium-to-high cut points, fixed mode.")
    implication_cuts: tuple[float, float] = Field((33.3, 66.7), description="Same for implication.")
    competence_shares: tuple[float, float] = Field((1 / 3, 1 / 3), description="Adaptive: share low, share high.")
    implication_shares: tuple[float, float] = Field((1 / 3, 1 / 3), description="Adaptive: share low, share high.")
    established_competence_evidence: float = Field(
        10, ge=0, description="Competence is established once this much evidence backs it: contributions written "
        "(reviews, answers, questions) + votes received + rated reviews + page views / 10, decayed as competence "
        "is. Then no prior weighs more than a quarter of a rate; only established customers set the competence cuts.")
    established_implication_days: float = Field(
        30, ge=0, description="Implication is established once the customer has been observed this many days "
        "(one implication half-life): before, it measures a start, not a habit. Only established customers set the "
        "implication cuts.")
    hysteresis: float = Field(3.0, ge=0, le=20, description="Points past a cut point before a customer moves.")

    # -- sweeps ----------------------------------------------------------------------------
    sweep_minutes: float = Field(
        60, gt=0, description="Customers are scored and placed at fixed event-time points this far apart (every "
        "customer active since the last point, and silent ones 1, 2, 4, 8... days after their last signal), once "
        "every source has passed the point by allowed_lateness_s: the same points in every worker and in vox replay.")
    cuts_lag_sweeps: int = Field(
        24, ge=1, description="Placements at a sweep point use the cut points of the whole population this many "
        "points earlier: time for every partition to report it, so that no partition waits for another.")

    @model_validator(mode="after")
    def _check(self) -> "ScoringConfig":
        for name, weights, components in (("competence_weights", self.competence_weights, COMPETENCE_COMPONENTS),
                                          ("implication_weights", self.implication_weights, IMPLICATION_COMPONENTS)):  # fmt: skip
            if set(weights) != set(components):
                raise ValueError(f"{name} must give a weight to exactly {', '.join(components)}")
            if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                raise ValueError(f"{name} must be non-negative and not all zero")
        for name, (low, high) in (("competence_cuts", self.competence_cuts), ("implication_cuts", self.implication_cuts)):
            if not 0 < low < high < 100:
                raise ValueError(f"{name} must be two increasing points between 0 and 100")
        for name, (low, high) in (("competence_shares", self.competence_shares),
                                  ("implication_shares", self.implication_shares)):  # fmt: skip
            if not (0 < low and 0 < high and low + high < 1):
                raise ValueError(f"{name}: the low and high shares must be positive and leave room for medium")
        return self
