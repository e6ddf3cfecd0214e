"""Settings of the sentiment readings and of the per-subject windows and shift detector
(`VOX_SENTIMENT__*`; docs/sentiment.md says what each one changes)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SentimentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    texts: bool = Field(True, description="Read the sentiment of each review's and post's text into "
                        "interactions.sentiment and sentiment_lang; false: those columns stay NULL and no subject is fed.")
    star_weight: float = Field(0.7, ge=0, le=1, description="A review's opinion: this share from its stars "
                               "((stars - 3) / 2), the rest from its text (stars alone where the text has no sentiment).")
    window_minutes: int = Field(60, ge=1, le=1440, description="Event-time windows of each subject's opinions "
                                "(sentiment_windows).")
    lateness_s: float = Field(0.5, ge=0, le=3600, description="Opinions are taken in event-time order once every "
                              "source is this far past them: the detector sees the same sequence in every worker and in vox replay.")
    min_events: int = Field(50, ge=5, description="Opinions of a subject before its detector may raise an alert.")
    baseline_half_life: float = Field(200, gt=1, description="Opinions over which the baseline (mean and spread) "
                                      "halves its memory.")
    drift: float = Field(0.5, gt=0, le=3, description="CUSUM allowance k, in baseline standard deviations: "
                         "half the smallest shift worth an alert.")
    threshold: float = Field(16.0, gt=0, le=100, description="CUSUM decision level h, in standard deviations: "
                             "higher, fewer false alarms and later detections.")
    end_sigma: float = Field(0.5, gt=0, description="An alert ends once the recent level is back within this many "
                             "standard deviations of the baseline.")
    cooldown_events: int = Field(50, ge=0, description="Opinions after an alert ends before the subject may raise another.")
    adapt_events: int = Field(300, ge=10, description="An alert still open after this many opinions ends as a new "
                              "level: the baseline becomes it.")
    evidence: int = Field(5, ge=1, le=50, description="Event ids an alert carries as evidence (the most extreme in its direction).")
    keep_windows: int = Field(48, ge=1, le=10_000, description="Windows of a subject kept in its state: an opinion "
                              "later than that is dropped from the windows (counted), not from the detector.")
