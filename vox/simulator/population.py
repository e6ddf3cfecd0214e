"""Who is in the simulated world: customers with hidden traits, staff, the catalogue, topics.

Every customer gets a latent competence and implication in [0, 1]; the typology cell they
belong to is drawn first (so all nine cells are populated, in the proportions of the config)
and the latents are drawn inside that cell's band. Competence is also per forum topic: high on
the customer's home topics, lower elsewhere (expertise is domain-specific, docs/glossary.md).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from vox.core.typology import CELLS, LEVELS, LEVELS_OF_CELL

BAND = {"low": (0.0, 1 / 3), "medium": (1 / 3, 2 / 3), "high": (2 / 3, 1.0)}
BRANDS = ["Arvona", "Belcour", "Cadenza", "Dorvik", "Elmira", "Fjordal", "Galvani", "Hestia", "Isolde", "Juniper",
          "Kestrel", "Lumen", "Maelstrom", "Nordlys", "Ostara", "Pavane"]  # fmt: skip
CATEGORIES = ["guitars", "keyboards", "drums", "microphones", "pedals", "amplifiers", "accessories", "studio"]
TOPICS = ["setup", "recording", "maintenance", "live-sound", "theory", "buying-advice", "repairs", "software",
          "mixing", "gear-talk"]  # fmt: skip

#: default share of customers per cell: many spectators, a solid core, few experts
DEFAULT_CELL_WEIGHTS = {
    "spectateurs": 0.20, "potentiels_1": 0.12, "referents": 0.06,
    "potentiels_2": 0.12, "coeur": 0.16, "controleurs": 0.08,
    "enthousiastes": 0.08, "communautaires": 0.10, "experts": 0.08,
}  # fmt: skip


@dataclass(slots=True)
class Customer:
    id: str
    competence: float
    implication: float
    cell: str
    lang: str
    home_topics: tuple[str, ...]
    home_category: str
    activity: float  # heavy-tailed multiplier of how much they do, mean about 1
    role: str = "customer"  # customer | staff
    persona: str = "regular"  # regular | leader | communicator | staff
    topic_competence: dict[str, float] = field(default_factory=dict)

    def competence_in(self, topic: str) -> float:
        return self.topic_competence.get(topic, self.competence * 0.5)


@dataclass(slots=True)
class Product:
    id: str
    brand: str
    category: str
    quality: float  # true mean rating, 1-5


@dataclass
class World:
    customers: list[Customer]
    staff: list[Customer]
    products: list[Product]
    topics: list[str]
    leaders: dict[str, list[str]]
    communicators: dict[str, list[str]]

    @property
    def everyone(self) -> list[Customer]:
        return self.customers + self.staff


def _in_band(rng: random.Random, level: str, margin: float = 0.02) -> float:
    """A latent inside the band, most often near its middle: customers of a segment resemble
    each other more than they resemble the next segment's (what makes a typology useful)."""
    low, high = BAND[level]
    return rng.triangular(low + margin, high - margin, (low + high) / 2)


def _heavy_tail(rng: random.Random, implication: float) -> float:
    """How much a customer does, on top of how often implication brings them: log-normal
    (sigma 0.7), its median rising with implication, so that the most active are mostly the
    most involved (as in real communities) while volume alone never tells implication exactly."""
    sigma = 0.7
    return math.exp(rng.gauss(1.2 * (implication - 0.5), sigma) - sigma * sigma / 2)


def draw_world(rng: random.Random, customers: int, cell_weights: dict[str, float], staff: int,
               products: int, leaders_per_topic: int, communicators_per_topic: int) -> World:  # fmt: skip
    topics = list(TOPICS)
    cells = list(cell_weights)
    weights = [cell_weights[c] for c in cells]
    # Every cell gets at least one customer (and a fair share), the rest drawn by weight.
    counts = {cell: max(1, round(customers * w / sum(weights))) for cell, w in zip(cells, weights)}
    while sum(counts.values()) > customers:
        biggest = max(counts, key=counts.__getitem__)
        counts[biggest] -= 1
    while sum(counts.values()) < customers:
        counts[rng.choices(cells, weights)[0]] += 1
    assigned = [cell for cell in cells for _ in range(counts[cell])]
    rng.shuffle(assigned)

    people = []
    for n, cell in enumerate(assigned):
        competence_level, implication_level = LEVELS_OF_CELL[cell]
        competence = _in_band(rng, competence_level)
        implication = _in_band(rng, implication_level)
        home = tuple(rng.sample(topics, rng.choice((1, 1, 2))))
        customer = Customer(
            id=f"u{n:06d}", competence=competence, implication=implication, cell=cell,
            lang="fr" if rng.random() < 0.3 else "en", home_topics=home, home_category=rng.choice(CATEGORIES),
            activity=_heavy_tail(rng, implication),
        )  # fmt: skip
        customer.topic_competence = {t: min(1.0, max(0.0, competence + rng.gauss(0, 0.03))) for t in home}
        people.append(customer)

    leaders: dict[str, list[str]] = {}
    communicators: dict[str, list[str]] = {}
    # Leaders are the most active experts and communicators the most active of the core: reach
    # comes with persistence, and no unplanted regular out-talks them (popped from the end).
    experts = sorted((c for c in people if c.cell == "experts"), key=lambda c: c.activity)
    middling = sorted((c for c in people if c.cell in ("coeur", "communautaires")), key=lambda c: c.activity)
    for topic in topics:
        leaders[topic] = _plant(experts, topic, leaders_per_topic, "leader", competence_floor=0.85)
        communicators[topic] = _plant(middling, topic, communicators_per_topic, "communicator")

    staff_members = [
        Customer(id=f"staff-{n:03d}", competence=0.9, implication=0.95, cell="experts", lang="en",
                 home_topics=tuple(topics), home_category=rng.choice(CATEGORIES), activity=12.0, role="staff",
                 persona="staff", topic_competence={t: 0.9 for t in topics})  # fmt: skip
        for n in range(staff)
    ]
    catalogue = []
    for n in range(products):
        # every category has products from several brands, every brand spans several categories
        brand = BRANDS[(n // 3) % len(BRANDS)]
        catalogue.append(Product(f"p{n:05d}", brand, CATEGORIES[n % len(CATEGORIES)],
                                 quality=min(4.8, max(1.8, rng.gauss(3.9, 0.5)))))  # fmt: skip
    return World(people, staff_members, catalogue, topics, leaders, communicators)


def _plant(pool: list[Customer], topic: str, count: int, persona: str, competence_floor: float = 0.0) -> list[str]:
    """Turn `count` customers of the pool into this topic's leaders or communicators."""
    chosen = []
    while pool and len(chosen) < count:
        customer = pool.pop()
        customer.persona = persona
        customer.home_topics = (topic,)
        customer.topic_competence = {topic: max(customer.competence, competence_floor)} if persona == "leader" \
            else {topic: customer.competence}  # fmt: skip
        if persona == "leader":
            customer.implication = max(customer.implication, 0.85)
            customer.activity = max(customer.activity, 5.0)  # persistent
        else:  # regular and reaching, but not out-talking the leaders
            customer.activity = min(max(customer.activity, 2.5), 3.5)
        chosen.append(customer.id)
    return chosen


def expected_cell(competence: float, implication: float) -> str:
    def level(x: float) -> str:
        return LEVELS[min(2, int(x * 3))]

    return CELLS[(level(competence), level(implication))]
