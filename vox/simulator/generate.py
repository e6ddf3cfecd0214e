"""Interaction streams whose truth is known: behaviour follows each customer's hidden traits.

* Implication drives how often a customer comes (sessions a day), in how many distinct weeks,
  how deep the sessions are, ideas and votes, purchases.
* Competence drives review detail, answering rather than asking, answers that get accepted
  and votes that are helpful, docs and tutorial visits, and how close ratings are to a
  product's true quality.
* Attention flows to planted leaders (competent, involved, persistent) and communicators
  (reach and regularity more than expertise) in their topic, and to very active staff, who
  must still never come out as leaders.
* Planted sentiment shifts move a brand's or a product's ratings and wording from a day on.

Events are generated day by day in event time, then emitted in arrival order: mostly the
same, except for late events (arriving up to `max_lateness_s` after they occurred), resent
duplicates (the same `event_id` again) and, on request, invalid messages of every kind the
dead-letter path handles. Everything is drawn from one seeded generator: the same seed gives
byte-identical output.
"""

from __future__ import annotations

import heapq
import json
import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

from vox.core.keys import input_key
from vox.simulator.population import DEFAULT_CELL_WEIGHTS, Customer, World, draw_world
from vox.simulator.text import polarity_of, post_text, review_text

DAY_S = 86_400
# Share of sessions starting in each hour (UTC): quiet nights, a lunch bump, busy evenings.
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 10, 12, 12, 10, 6, 3]
RECENT_POSTS = 300  # per topic: what a customer browses when replying or voting
#: share of replies and votes that go to each persona's recent posts in a topic (the rest: any post)
ATTENTION = {"leader": 0.45, "communicator": 0.08, "staff": 0.12}
INVALID_KINDS = ("not_json", "not_utf8", "not_object", "unknown_family", "missing_field", "invalid_field",
                 "too_large", "naive_timestamp", "empty")  # fmt: skip


@dataclass
class SimConfig:
    customers: int = 2000
    days: int = 60
    seed: int = 1
    start: datetime = datetime(2026, 1, 5, tzinfo=timezone.utc)  # a Monday
    staff: int = 3
    products: int = 0  # 0: one per 20 customers, at least 48
    leaders_per_topic: int = 0  # 0: 1 per topic up to 1,499 customers, 2 up to 2,999, then 3
    communicators_per_topic: int = 0  # 0: as many as leaders
    shifts: int = 4
    sessions_per_day: float = 0.35  # of an average customer in an active week, scaled by implication
    duplicate_rate: float = 0.01
    late_rate: float = 0.02
    max_lateness_s: int = 600
    invalid_rate: float = 0.0
    cell_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CELL_WEIGHTS))

    @property
    def leaders(self) -> int:
        return self.leaders_per_topic or max(1, min(3, self.customers // 1500 + 1))

    @property
    def communicators(self) -> int:
        return self.communicators_per_topic or self.leaders

    @property
    def product_count(self) -> int:
        return self.products or max(48, self.customers // 20)


@dataclass(frozen=True)
class Shift:
    subject_kind: str  # brand | product
    subject: str
    start: datetime
    magnitude: float  # stars added to the true quality (negative: down)

    @property
    def direction(self) -> str:
        return "down" if self.magnitude < 0 else "up"


@dataclass(slots=True)
class Emitted:
    """One message in arrival order: the bytes, the family's topic it goes to, and for planted
    invalid messages the reason class the worker must give."""

    line: bytes
    family: str
    expected_reason: str | None = None
    key: bytes | None = None  # the partition key (`vox.core.keys.input_key`)


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:  # normal approximation: Knuth's loop would take lam steps
        return max(0, int(rng.gauss(lam, math.sqrt(lam)) + 0.5))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class Simulation:
    def __init__(self, config: SimConfig, live: bool = False):
        self.config = config
        # a JSON-lines file cannot hold an empty message: only a live stream plants those
        self.invalid_kinds = INVALID_KINDS if live else tuple(k for k in INVALID_KINDS if k != "empty")
        self.rng = random.Random(config.seed)
        self.world: World = draw_world(
            self.rng, config.customers, config.cell_weights, config.staff, config.product_count,
            config.leaders, config.communicators,
        )  # fmt: skip
        self.shifts = self._plant_shifts()
        self._seq = 0
        self._by_category: dict[str, list] = {}
        for product in self.world.products:
            self._by_category.setdefault(product.category, []).append(product)
        topics = self.world.topics
        self._questions: dict[str, deque] = {t: deque(maxlen=RECENT_POSTS) for t in topics}
        self._posts: dict[str, deque] = {t: deque(maxlen=RECENT_POSTS) for t in topics}
        # recent posts of each leader, communicator and staff member per topic: where attention goes
        self._featured: dict[str, dict[str, dict[str, deque]]] = {t: {p: {} for p in ATTENTION} for t in topics}
        self._reviews: dict[str, deque] = {c: deque(maxlen=RECENT_POSTS) for c in self._by_category}
        self._answers_to: dict[str, list] = {}  # question id -> [(answer id, author, competence)]
        self._open_questions: dict[str, list[tuple[str, str]]] = {}  # asker -> [(question id, topic)]
        self._invalid_kind = 0
        self.counts = {"events": 0, "duplicates": 0, "late": 0, "invalid": 0}
        self.per_customer: dict[str, int] = {}

    # -- set-up ----------------------------------------------------------------------------

    def _plant_shifts(self) -> list[Shift]:
        rng, cfg = self.rng, self.config
        brands = sorted({p.brand for p in self.world.products})
        shifts = []
        for n in range(cfg.shifts):
            if n % 4 == 3:
                kind, subject = "product", rng.choice(self.world.products).id
            else:
                kind, subject = "brand", brands[(n * 5) % len(brands)]
            day = rng.randint(cfg.days // 3, max(cfg.days // 3, (2 * cfg.days) // 3))
            magnitude = rng.uniform(1.2, 2.0) * (-1 if rng.random() < 0.7 else 1)
            start = cfg.start + timedelta(days=day, hours=rng.randint(0, 23))
            shifts.append(Shift(kind, subject, start, round(magnitude, 2)))
        return shifts

    def _quality(self, product, at_s: float) -> float:
        quality = product.quality
        for shift in self.shifts:
            if at_s >= shift.start.timestamp() and shift.subject in (product.brand, product.id):
                quality += shift.magnitude
        return quality

    # -- event building ----------------------------------------------------------------------

    def _event(self, family: str, customer: Customer, at_s: float, **fields: object) -> dict:
        self._seq += 1
        when = datetime.fromtimestamp(at_s, tz=timezone.utc)
        event = {"type": family, "event_id": f"sim{self.config.seed}-{self._seq:08d}", "customer_id": customer.id,
                 "occurred_at": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
                 "_at": at_s}  # fmt: skip
        if customer.role != "customer":
            event["actor_role"] = customer.role
        event.update(fields)
        return event

    def _session(self, c: Customer, start_s: float, out: list) -> None:
        rng, t = self.rng, start_s
        competence, implication = c.competence, c.implication
        session_id = f"s{self._seq + 1}"
        products = self._by_category[c.home_category] if rng.random() < 0.75 else rng.choice(list(self._by_category.values()))
        product = rng.choice(products)
        for _ in range(1 + poisson(rng, 0.5 + 5 * implication)):
            t += rng.uniform(5, 120)
            roll = rng.random()
            if roll < 0.05 + 0.4 * competence:
                page = "docs" if rng.random() < 0.6 else "tutorial"
            elif roll < 0.15 + 0.4 * competence + 0.2 * implication:
                page = "community"
            else:
                page = rng.choice(("product", "product", "category", "search"))
            out.append(self._event("click", c, t, session_id=session_id, page_type=page,
                                   action="search" if page == "search" else "view", product_id=product.id,
                                   brand=product.brand, category=product.category,
                                   dwell_ms=int(rng.lognormvariate(9 + 1.2 * implication, 0.7))))  # fmt: skip
        if rng.random() < 0.02 + 0.2 * implication:
            t += rng.uniform(10, 60)
            out.append(self._event("click", c, t, session_id=session_id, page_type="checkout", action="purchase",
                                   product_id=product.id, brand=product.brand, category=product.category,
                                   order_value=round(rng.lognormvariate(4.5, 0.8), 2)))  # fmt: skip
        if rng.random() < 0.03 + 0.25 * implication:
            t += rng.uniform(30, 300)
            out.append(self._review(c, product, t))
        if rng.random() < 0.02 + 0.55 * implication:
            t += rng.uniform(30, 600)
            self._post(c, t, out)
        for _ in range(poisson(rng, 0.1 + 2.5 * implication)):
            t += rng.uniform(5, 60)
            vote = self._vote(c, t)
            if vote:
                out.append(vote)
        self._accept(c, t + rng.uniform(5, 60), out)

    def _review(self, c: Customer, product, t: float) -> dict:
        rng = self.rng
        noise_sd = 0.25 + 1.4 * (1 - c.competence)  # competent customers rate close to the truth
        rating = min(5, max(1, round(self._quality(product, t) + rng.gauss(0, noise_sd))))
        title, text = review_text(rng, c.lang, polarity_of(rating), int(c.competence * 4 + rng.random()))
        event = self._event("review", c, t, review_id=f"r{self._seq + 1}", product_id=product.id, brand=product.brand,
                            category=product.category, rating=rating, title=title, text=text, lang=c.lang,
                            verified_purchase=rng.random() < 0.6)  # fmt: skip
        self._reviews[product.category].append((event["review_id"], c.id, c.competence))
        return event

    def _post(self, c: Customer, t: float, out: list) -> None:
        rng = self.rng
        topic = rng.choice(c.home_topics) if rng.random() < 0.85 else rng.choice(self.world.topics)
        skill = c.competence_in(topic)
        roll = rng.random()
        questions = self._questions[topic]
        if roll < 0.03 + 0.1 * c.implication:
            kind = "idea"
        elif roll < 0.3 and self._posts[topic]:
            kind = "comment"
        elif questions and rng.random() < 0.05 + 0.9 * skill:
            kind = "answer"
        else:
            kind = "question"
        if c.persona == "communicator" and kind == "answer" and rng.random() < 0.5:
            kind = "question"  # communicators draw replies by asking, not by knowing
        post_id = f"t{self._seq + 1}"
        fields: dict = {"post_id": post_id, "thread_id": post_id, "kind": kind, "topic": topic}
        target = None
        if kind == "answer":
            target = self._attended(questions, self._featured[topic], only_questions=True)
        elif kind == "comment":
            target = self._attended(self._posts[topic], self._featured[topic])
        if target is not None:
            target_id, thread_id, author = target[0], target[1], target[2]
            if author == c.id:
                kind = fields["kind"] = "question" if kind == "answer" else kind
            else:
                fields.update(thread_id=thread_id, parent_post_id=target_id, reply_to_customer_id=author)
        elif kind in ("answer", "comment"):
            kind = fields["kind"] = "question"
        leaders = self.world.leaders.get(topic)
        if leaders and kind in ("answer", "comment") and rng.random() < 0.1:
            fields["mentions"] = [rng.choice(leaders)]
        fields["text"] = post_text(rng, c.lang, kind, int(skill * 3) if kind == "answer" else 0)
        out.append(self._event("post", c, t, **fields))
        record = (post_id, fields["thread_id"], c.id, skill)
        self._posts[topic].append(record)
        if kind in ("question", "idea"):
            questions.append(record)
            self._open_questions.setdefault(c.id, []).append((post_id, topic))
        if kind == "answer" and target is not None:
            self._answers_to.setdefault(target[0], []).append((post_id, c.id, skill))
        if c.persona != "regular" and topic in c.home_topics:  # a leader is a leader in their own topic
            self._featured[topic][c.persona].setdefault(c.id, deque(maxlen=30)).append(record)

    def _attended(self, pool: deque, featured: dict[str, dict[str, deque]], only_questions: bool = False):
        """Pick what a customer replies to: attention goes to leaders, communicators and staff
        (each of them in turn, however much they post), the rest to any recent post."""
        rng = self.rng
        roll = rng.random()
        for persona, share in ATTENTION.items():
            if roll < share:
                authors = featured[persona]
                if authors:
                    posts = authors[rng.choice(sorted(authors))]
                    candidate = posts[rng.randrange(len(posts))]
                    if not only_questions or candidate[0] == candidate[1]:  # thread starters are the questions
                        return candidate
                break
            roll -= share
        return pool[rng.randrange(len(pool))] if pool else None

    def _vote(self, c: Customer, t: float) -> dict | None:
        rng = self.rng
        if rng.random() < 0.5:
            topic = rng.choice(c.home_topics)
            target = self._attended(self._posts[topic], self._featured[topic])
            kind, vote_good, vote_bad = "post", "up", "down"
        else:
            reviews = self._reviews.get(c.home_category)
            target = reviews[rng.randrange(len(reviews))] if reviews else None
            kind, vote_good, vote_bad = "review", "helpful", "unhelpful"
            topic = c.home_category
        if target is None or target[-2 if kind == "post" else 1] == c.id:
            return None
        target_id = target[0]
        author, quality = (target[2], target[3]) if kind == "post" else (target[1], target[2])
        fields = {"target_kind": kind, "target_id": target_id,
                  "vote_type": vote_good if rng.random() < 0.25 + 0.75 * quality else vote_bad}  # fmt: skip
        if rng.random() < 0.75:  # producers do not always know who wrote the target; those who do know its topic
            fields["target_author_id"], fields["target_topic"] = author, topic
        return self._event("vote", c, t, **fields)

    def _accept(self, c: Customer, t: float, out: list) -> None:
        """An asker accepts the most competent answer to one of their questions, once."""
        open_questions = self._open_questions.get(c.id)
        if not open_questions:
            return
        for index, (question_id, topic) in enumerate(open_questions):
            answers = self._answers_to.get(question_id)
            if answers and self.rng.random() < 0.6:
                answer_id, author, _ = max(answers, key=lambda a: a[2])
                out.append(self._event("vote", c, t, target_kind="post", target_id=answer_id,
                                       target_author_id=author, target_topic=topic, vote_type="accept"))  # fmt: skip
                del open_questions[index]
                self._answers_to.pop(question_id, None)
                return

    # -- noise -----------------------------------------------------------------------------

    def _invalid(self, family: str, event: dict) -> Emitted:
        kind = self.invalid_kinds[self._invalid_kind % len(self.invalid_kinds)]
        self._invalid_kind += 1
        broken = dict(event, event_id=event["event_id"] + "-bad")
        line: bytes
        reason = kind
        if kind == "not_json":
            line = b"{" + json.dumps(broken).encode()[1:-1]
        elif kind == "not_utf8":
            line = json.dumps(broken, ensure_ascii=False).encode().replace(b'"type"', b'"\xff\xfetype"', 1)
        elif kind == "not_object":
            line = json.dumps([broken]).encode()
        elif kind == "unknown_family":
            line = json.dumps(dict(broken, type="purchase")).encode()
        elif kind == "missing_field":
            broken.pop("customer_id")
            line = json.dumps(broken).encode()
        elif kind == "invalid_field":
            line = json.dumps(dict(broken, occurred_at="not a time")).encode()
        elif kind == "naive_timestamp":
            line = json.dumps(dict(broken, occurred_at=broken["occurred_at"].rstrip("Z"))).encode()
            reason = "invalid_field"
        elif kind == "too_large":
            line = json.dumps(dict(broken, customer_id="x" * 300)).encode()
        else:  # empty
            line = b""
        return Emitted(line, family, reason)

    # -- the stream --------------------------------------------------------------------------

    def events(self, progress: Callable[[int], None] | None = None) -> Iterator[Emitted]:
        """Every message in arrival order."""
        cfg, rng = self.config, self.rng
        people = self.world.everyone
        start_s = cfg.start.timestamp()
        active_week = [False] * len(people)
        hours = list(range(24))
        cum_hours = [sum(HOUR_WEIGHTS[: h + 1]) for h in hours]
        pending: list[tuple[float, int, Emitted]] = []  # heap by arrival time
        order = 0
        for day in range(cfg.days):
            day_s = start_s + day * DAY_S
            if day % 7 == 0:
                for index, person in enumerate(people):  # durability: active in many distinct weeks
                    active_week[index] = rng.random() < 0.2 + 0.75 * person.implication
            generated: list[dict] = []
            for index, person in enumerate(people):
                if not active_week[index]:
                    continue
                rate = cfg.sessions_per_day * person.activity * (0.25 + 2.4 * person.implication ** 1.5)
                for _ in range(poisson(rng, rate)):
                    hour = rng.choices(hours, cum_weights=cum_hours)[0]
                    self._session(person, day_s + hour * 3600 + rng.uniform(0, 3599), generated)
            for event in generated:
                arrival = event.pop("_at")
                if rng.random() < cfg.late_rate:
                    arrival += rng.uniform(1, cfg.max_lateness_s)
                    self.counts["late"] += 1
                line = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
                family = event["type"]
                emitted = Emitted(line, family, key=str(input_key(event)).encode())
                order += 1
                heapq.heappush(pending, (arrival, order, emitted))
                self.counts["events"] += 1
                self.per_customer[event["customer_id"]] = self.per_customer.get(event["customer_id"], 0) + 1
                if rng.random() < cfg.duplicate_rate:  # a producer retry, seconds to an hour later
                    order += 1
                    heapq.heappush(pending, (arrival + rng.uniform(1, 3600), order, emitted))
                    self.counts["duplicates"] += 1
                if cfg.invalid_rate and rng.random() < cfg.invalid_rate:
                    order += 1
                    heapq.heappush(pending, (arrival, order, self._invalid(family, event)))
                    self.counts["invalid"] += 1
            horizon = day_s + DAY_S
            while pending and pending[0][0] < horizon:
                yield heapq.heappop(pending)[2]
            if progress:
                progress(day + 1)
        while pending:
            yield heapq.heappop(pending)[2]
