"""Sentiment per subject (a brand, a product, a category, a topic): event-time windows and a
shift detector on each subject's stream of opinions. Pure: no I/O, no clock.

* **Opinions.** Each review or post that says something gives one opinion in [-1, 1] to each of
  its subjects (a review: its brand, product and category; a post: its topic, and its brand and
  product when it names them). A review's opinion blends its stars and its text
  (`star_weight` from `(stars - 3) / 2`, the rest from the text; stars alone where the text has
  no sentiment): the stars are what the customer chose to say of the product, the text says
  how strongly and why. A post's is its text's.
* **In event-time order, the same everywhere.** A subject holds its opinions until every source
  is `lateness_s` past them (the watermark), then takes them sorted by (time, event id): the
  detector sees the same sequence in every worker and in `vox replay`, whatever the order the
  input partitions were read in. An opinion later than that is taken at the next release (its
  window still gets it, while the window is kept).
* **Windows** of `window_minutes`: opinions, mean, share negative (< -0.05), share positive
  (> 0.05). Sums, so order does not matter to them.
* **Detector**: a two-sided CUSUM (Page 1954) on opinions standardised by the subject's
  baseline (exponentially weighted mean and variance, `baseline_half_life` opinions, learning
  each opinion 60 opinions after it, so that a change is found before it reaches the baseline;
  frozen while an alert is open). It accumulates evidence of a shift of at
  least `2 * drift` standard deviations and raises an alert once that evidence passes
  `threshold`: for a stable subject with roughly normal opinions, far fewer than one false
  alarm in 10^6 opinions at the defaults (real opinions are skewed, and far from normal: see
  docs/sentiment.md); a 1-sd shift is found after about 35 opinions, a 2-sd one after 15. The change
  is estimated to start where the evidence last left zero. One incident, one alert: the alert
  stays open until the recent level (the mean since the change, then an exponentially
  weighted mean) has been back within `end_sigma` of the baseline for 20 opinions in a row, or ends as a new level after
  `adapt_events`; then `cooldown_events` pass before another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vox.core.sentiment.config import SentimentConfig

NEUTRAL_BAND = 0.05  # an opinion within this of 0 is neither negative nor positive
SIGMA_FLOOR = 0.05  # the spread an opinion is standardised by, at least: a subject whose every opinion is alike
RECENT_HALF_LIFE = 20  # opinions: the recent level an open alert watches to end
Z_CLIP = 2.0  # standard deviations an opinion may count for, at most (a robust CUSUM)
BASELINE_DELAY = 60  # opinions between one's arrival and its learning into the baseline

SUBJECT_KINDS = ("brand", "product", "category", "topic")


def subject_key(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def subject_of(key: str) -> tuple[str, str]:
    kind, _, name = key.partition(":")
    return kind, name


def review_opinion(stars: int, text_score: float | None, star_weight: float) -> float:
    from_stars = (stars - 3) / 2
    if text_score is None:
        return from_stars
    return star_weight * from_stars + (1 - star_weight) * text_score


#: why an alert ended, in words
END_REASONS = {"returned": "back to its level", "new level": "settled at a new level"}


@dataclass
class Alert:
    """One incident on one subject: raised once, ended once."""

    alert_id: str
    subject: str
    direction: str  # "negative" | "positive"
    baseline: float  # the level before the change
    baseline_sd: float
    level: float  # the mean since the estimated start, at detection
    magnitude: float  # (level - baseline) / baseline_sd
    started_at: float  # estimated start of the change (event time)
    detected_at: float  # event time of the opinion that raised it
    detected_event: str
    events_since_change: int
    evidence: list[str]  # the most extreme opinions since the start, in the alert's direction
    ended_at: float | None = None
    end_reason: str = ""  # "returned" | "new level"
    ended_level: float | None = None

    @property
    def status(self) -> str:
        return "open" if self.ended_at is None else "ended"

    def to_list(self) -> list:
        return [self.alert_id, self.subject, self.direction, self.baseline, self.baseline_sd, self.level, self.magnitude,
                self.started_at, self.detected_at, self.detected_event, self.events_since_change, self.evidence,
                self.ended_at, self.end_reason, self.ended_level]  # fmt: skip

    @classmethod
    def from_list(cls, data: list) -> "Alert":
        return cls(*data)


class Side:
    """One direction's CUSUM: its evidence, where it last left zero, and what it has seen since."""

    __slots__ = ("sign", "s", "start", "start_event", "n", "total", "extreme")

    def __init__(self, sign: int, data: list | None = None):
        self.sign = sign
        if data:
            self.s, self.start, self.start_event, self.n, self.total, self.extreme = data
        else:
            self.reset()

    def reset(self) -> None:
        self.s, self.start, self.start_event, self.n, self.total = 0.0, 0.0, "", 0, 0.0
        self.extreme: list[list] = []  # [[signed opinion, event id]], the most extreme first

    def to_list(self) -> list:
        return [self.s, self.start, self.start_event, self.n, self.total, self.extreme]

    def step(self, z: float, drift: float, at: float, event_id: str, opinion: float, keep: int) -> None:
        moved = self.s + self.sign * z - drift
        if moved <= 0:
            self.reset()
            return
        if self.s == 0:
            self.start, self.start_event = at, event_id
        self.s = moved
        self.n += 1
        self.total += opinion
        self.extreme.append([self.sign * opinion, event_id])
        self.extreme.sort(key=lambda e: (-e[0], e[1]))
        del self.extreme[keep:]


class Detector:
    """The shift detector of one subject (state: `to_list` / `from_list`)."""

    def __init__(self, data: list | None = None):
        if data:
            (self.n, self.mean, self.var, up, down, alert, self.recent, self.cooldown, self.in_alert, self.queue,
             self.returning) = data
            self.up, self.down = Side(1, up), Side(-1, down)
            self.alert = Alert.from_list(alert) if alert else None
        else:
            self.n, self.mean, self.var = 0, 0.0, 0.0
            self.up, self.down = Side(1), Side(-1)
            self.alert: Alert | None = None
            self.recent, self.cooldown, self.in_alert = 0.0, 0, 0
            self.queue: list[float] = []  # the latest opinions, not yet in the baseline
            self.returning = 0  # opinions in a row an open alert's recent level has been near the baseline

    def to_list(self) -> list:
        return [self.n, self.mean, self.var, self.up.to_list(), self.down.to_list(),
                self.alert.to_list() if self.alert else None, self.recent, self.cooldown, self.in_alert,
                self.queue, self.returning]  # fmt: skip

    @property
    def sd(self) -> float:
        return max(math.sqrt(self.var), SIGMA_FLOOR)

    def observe(self, subject: str, at: float, event_id: str, opinion: float, c: SentimentConfig) -> Alert | None:
        """Take one opinion; the alert raised or ended by it, if any."""
        self.n += 1
        if self.alert is not None:
            return self._watch(at, opinion, c)
        if self.n <= c.min_events:  # the baseline's first estimate: plain running mean and variance
            delta = opinion - self.mean
            self.mean += delta / self.n
            self.var += (delta * (opinion - self.mean) - self.var) / self.n
            return None
        # winsorised: one furious review among happy ones is not half an alert by itself
        z = max(-Z_CLIP, min(Z_CLIP, (opinion - self.mean) / self.sd))
        keep = c.evidence
        self.up.step(z, c.drift, at, event_id, opinion, keep)
        self.down.step(z, c.drift, at, event_id, opinion, keep)
        if self.cooldown > 0:
            self.cooldown -= 1
            self.up.s, self.down.s = min(self.up.s, c.threshold / 2), min(self.down.s, c.threshold / 2)
        for side, direction in ((self.down, "negative"), (self.up, "positive")):
            if side.s > c.threshold:
                return self._raise(subject, side, direction, at, event_id)
        # the baseline follows the subject BASELINE_DELAY opinions behind: a change is found
        # before its opinions reach the baseline, which would otherwise absorb it
        self.queue.append(opinion)
        if len(self.queue) > BASELINE_DELAY:
            self._learn(self.queue.pop(0), c)
        return None

    def _learn(self, opinion: float, c: SentimentConfig) -> None:
        # a plain running mean and variance until the baseline has seen as many opinions as the
        # exponential weighting remembers: otherwise the estimate from the first `min_events`
        # weighs on it for hundreds of opinions, and a first estimate a third of a standard
        # deviation off raised false alarms. `n - len(queue)` counts the opinions learned (and
        # those of past alerts, never learned: it errs towards the weighting).
        alpha = max(1 - 0.5 ** (1 / c.baseline_half_life), 1 / max(1, self.n - len(self.queue)))
        delta = opinion - self.mean
        self.mean += alpha * delta
        self.var = (1 - alpha) * (self.var + alpha * delta * delta)

    def _raise(self, subject: str, side: Side, direction: str, at: float, event_id: str) -> Alert:
        level = side.total / side.n
        self.alert = Alert(f"{subject}|{event_id}", subject, direction, round(self.mean, 4), round(self.sd, 4),
                           round(level, 4), round((level - self.mean) / self.sd, 3), side.start, at, event_id, side.n,
                           [e[1] for e in side.extreme])  # fmt: skip
        self.recent, self.in_alert = level, 0
        self.queue = []  # the change's opinions: never the baseline's
        return self.alert

    def _watch(self, at: float, opinion: float, c: SentimentConfig) -> Alert | None:
        alert = self.alert
        assert alert is not None
        self.in_alert += 1
        alpha = 1 - 0.5 ** (1 / RECENT_HALF_LIFE)
        self.recent += alpha * (opinion - self.recent)
        # back near the baseline for RECENT_HALF_LIFE opinions in a row: a dip in the noise of
        # a lasting change does not end its alert
        near = abs(self.recent - alert.baseline) < c.end_sigma * alert.baseline_sd
        self.returning = self.returning + 1 if near else 0
        returned = self.returning >= RECENT_HALF_LIFE
        if not returned and self.in_alert < c.adapt_events:
            return None
        alert.ended_at, alert.ended_level = at, round(self.recent, 4)
        alert.end_reason = "returned" if returned else "new level"
        if not returned:  # the subject has a new normal: the baseline starts from it
            self.mean = self.recent
        self.alert, self.cooldown, self.returning = None, c.cooldown_events, 0
        self.up.reset()
        self.down.reset()
        return alert


class Windows:
    """A subject's event-time windows: start (s) -> [opinions, sum, negative, positive]."""

    def __init__(self, data: dict | None = None):
        self.windows: dict[int, list] = {int(k): v for k, v in (data or {}).items()}
        self.dropped = 0  # opinions too late for the windows kept

    def add(self, at: float, opinion: float, width_s: int, keep: int) -> int | None:
        """The window the opinion went to, or None when that window is no longer kept."""
        start = int(at // width_s) * width_s
        window = self.windows.get(start)
        if window is None:
            newest = max(self.windows, default=start)
            if start < newest - (keep - 1) * width_s:
                self.dropped += 1
                return None
            window = self.windows[start] = [0, 0.0, 0, 0]
            for old in [s for s in self.windows if s < max(newest, start) - (keep - 1) * width_s]:
                del self.windows[old]
        window[0] += 1
        window[1] += opinion
        window[2] += opinion < -NEUTRAL_BAND
        window[3] += opinion > NEUTRAL_BAND
        return start

    def to_dict(self) -> dict:
        return {str(k): v for k, v in self.windows.items()}
