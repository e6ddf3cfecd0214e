"""Settings of the per-topic interaction graphs and of leader ranking (`VOX_LEADERS__*`;
docs/leaders.md says what each one changes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class LeadersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    half_life_days: float = Field(90, gt=0, description="Edges, votes and acceptances received halve their weight "
                                  "in this much event time: a leader of last year fades unless they keep leading.")
    edge_weights: dict[str, float] = Field(
        default_factory=lambda: {"answer": 1.0, "reply": 0.5, "mention": 0.5, "vote": 0.5, "accept": 2.0},
        description="Weight of one interaction in the topic's graph, by kind (an edge points from who seeks or "
                    "recognises to whom is sought or recognised).")
    max_customers: int = Field(3000, ge=50, le=20_000, description="Customers a topic's graph holds; beyond, "
                               "the least active (decayed) are evicted with their edges.")
    max_out_edges: int = Field(64, ge=4, le=1000, description="Edges kept per customer, the strongest; a weaker "
                               "one is dropped (its weight was a small share of the customer's endorsements).")
    push_tolerance: float = Field(1e-2, gt=0, le=0.1, description="Residual PageRank left unpushed per "
                                  "customer (PageRank summing to about the number of customers): smaller, closer to the "
                                  "exact PageRank of the decayed graph and more pushes per edge.")
    top_k: int = Field(10, ge=1, le=100, description="Leaders per topic.")
    min_contributions: int = Field(5, ge=1, description="Posts and answers in the topic before a customer may lead it.")
    min_recognisers: int = Field(2, ge=0, description="Distinct customers (or anonymous votes) who recognised "
                                 "or sought them out in the topic before they may lead it.")
    margin: float = Field(0.1, ge=0, le=1, description="Hysteresis: a newcomer displaces the weakest leader only "
                          "with a score this share above theirs; a leader leaves when below (1 - margin) of the bar.")
    rank_every: int = Field(100, ge=1, description="A topic's leaders are ranked again after this many interactions ...")
    rank_interval_minutes: int = Field(1440, ge=1, description="... or when event time enters a new interval of this length.")
    expert_weights: dict[str, float] = Field(
        default_factory=lambda: {"who": 0.2, "what": 0.5, "whom": 0.3},
        description="How one leads by what one knows: shares of the Katz & Lazarsfeld dimensions (who one is, "
                    "what one knows, whom one knows) in the expert's path to the leader score.")
    communicator_weights: dict[str, float] = Field(
        default_factory=lambda: {"who": 0.4, "what": 0.0, "whom": 0.6},
        description="How one leads by whom one knows and how one engages: shares of the dimensions in the "
                    "communicator's path. The leader score is credibility times the better of the two paths.")
    expert_what: float = Field(2 / 3, gt=0, lt=1, description="A leader whose 'what one knows' is at least this "
                               "(2/3: on average twice the candidates' median) is an expert, else a communicator.")
    single_brand_share: float = Field(0.8, gt=0.5, le=1, description="A customer whose posts naming a brand "
                                      "name this one brand at least this often is flagged `single_brand`.")
    lateness_s: float = Field(0.5, ge=0, le=3600, description="Interactions are applied in event-time order once "
                              "every source is this far past them: every worker and vox replay see one sequence.")

    @model_validator(mode="after")
    def _check(self) -> "LeadersConfig":
        dimensions = {"who", "what", "whom"}
        for name, weights, known in (("edge_weights", self.edge_weights, {"answer", "reply", "mention", "vote", "accept"}),
                                     ("expert_weights", self.expert_weights, dimensions),
                                     ("communicator_weights", self.communicator_weights, dimensions)):  # fmt: skip
            if set(weights) != known:
                raise ValueError(f"{name} must give a weight to exactly {', '.join(sorted(known))}")
            if any(w < 0 for w in weights.values()) or not sum(weights.values()) > 0:
                raise ValueError(f"{name} must be non-negative and not all zero")
        return self
