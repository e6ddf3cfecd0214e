"""Text sentiment (vox/core/sentiment/text.py): what each rule does, and bad input."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from vox.core.interactions import INTERACTION_COLUMNS, event_sentiment, interaction_row
from vox.core.sentiment.text import text_sentiment
from vox.core.triage import RawMessage
from vox.schemas import Post, Review, Vote

NOW = datetime(2026, 3, 1, tzinfo=timezone.utc)


def score(text: str, lang: str | None = None) -> float | None:
    return text_sentiment(text, lang).score


def test_plain_opinions_have_their_sign() -> None:
    assert score("This amp is great, I love it.") > 0.5
    assert score("Terrible strings, they broke on the first day.") < -0.3
    assert score("Ce livre est vraiment excellent, je le recommande.") > 0.5
    assert score("Une histoire ennuyeuse et mal écrite, quelle déception.") < -0.5


@pytest.mark.parametrize("text", ["not bad at all", "No problems so far.", "pas mal du tout", "aucun problème"])
def test_a_negated_negative_reads_as_mildly_positive(text: str) -> None:
    assert 0 < score(text) < 0.6


@pytest.mark.parametrize("text, lang", [("I do not like it", "en"), ("It isn't good", "en"), ("je n'aime pas ce livre", "fr")])
def test_a_negated_positive_reads_as_negative(text: str, lang: str) -> None:
    assert score(text, lang) < 0


def test_after_a_contrast_word_counts_more_within_its_sentence() -> None:
    assert score("The sound is good but the case is awful.") < 0
    assert score("The case is awful but the sound is good.") > 0
    assert score("Le son est bon mais la finition est décevante.") < 0
    # within its sentence; a sentence opening with one turns against everything before it
    assert score("The sound is good but the case is awful. I love the colour.") < score(
        "The sound is good. The case is awful but I love the colour.")
    assert score("Nice stand, fits well. However, it collapses under a mic.") < 0


def test_review_words() -> None:
    assert score("It looks like a Fender") is None  # a comparison, not an opinion
    assert score("I really like it") > 0 and score("I didn't like it") < 0
    assert score("They are too big for my guitar.") < 0
    assert score("Flimsy, I returned it for a refund.") < -0.5


def test_intensifiers_raise_and_dampeners_lower() -> None:
    assert score("very good") > score("good") > score("slightly good") > 0
    assert score("très bon", "fr") > score("bon", "fr")


def test_long_texts_do_not_drift_to_the_extremes() -> None:
    # VADER's compound goes to +-1 as a text grows; a mixed text stays where one copy of it reads,
    # far from the extremes, however long (the learned terms read this one as leaning positive:
    # "great" says more in a review than "bad")
    mixed = "The tone is great. The tuning pegs are bad. " * 200
    assert abs(score(mixed)) < 0.5
    assert abs(score(mixed)) == pytest.approx(abs(score("The tone is great. The tuning pegs are bad.")), abs=0.15)


def test_the_language_is_the_producers_else_detected() -> None:
    assert text_sentiment("good value", "en-GB").lang == "en"
    assert text_sentiment("The strings are very good and the price is fair.").lang == "en"
    assert text_sentiment("Les cordes sont très bonnes et le prix est correct.").lang == "fr"
    # a short text with no function word: the lexicon that knows its words
    assert text_sentiment("works great, no problems").lang == "en"


@pytest.mark.parametrize("text, lang", [
    ("", None), ("   \n\t", None), ("😀😀😀", None), ("SKU-4471-B", None), ("x" * 20_000, None),
    ("Das ist sehr gut, ich bin zufrieden.", None), ("Das ist sehr gut", "de"), ("Isso é muito bom", "pt-BR"),
])  # fmt: skip
def test_no_sentiment_is_said_as_such(text: str, lang: str | None) -> None:
    read = text_sentiment(text, lang)
    assert read.score is None
    if lang:
        assert read.lang == lang.split("-")[0]  # the language said, though vox has no lexicon for it


def test_a_twenty_thousand_character_text_costs_no_more_than_its_first_five_thousand() -> None:
    long = ("The pickup is excellent and the neck is smooth, but the bridge rattles. " * 300)[:20_000]
    started = time.process_time()
    for _ in range(50):
        text_sentiment(long)
    per_text = (time.process_time() - started) / 50
    assert per_text < 0.01  # bounded by MAX_CHARS: about 1 ms on these machines
    assert text_sentiment(long).score is not None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600), st.sampled_from([None, "en", "fr", "de"]))
def test_any_text_scores_within_bounds_or_none(text: str, lang: str | None) -> None:
    read = text_sentiment(text, lang)
    assert read.score is None or -1.0 <= read.score <= 1.0


def test_rows_carry_the_text_sentiment_and_its_language() -> None:
    message = RawMessage("vox.reviews", 0, 1, b"")
    review = Review(event_id="r1", customer_id="c1", occurred_at=NOW, type="review", review_id="r1", product_id="p1",
                    brand="b", category="strings", rating=2, title="Disappointed", text="They broke within a week.")  # fmt: skip
    row = dict(zip(INTERACTION_COLUMNS, interaction_row(review, message, NOW)))
    assert row["sentiment"] < 0 and row["sentiment_lang"] == "en"
    off = dict(zip(INTERACTION_COLUMNS, interaction_row(review, message, NOW, sentiment=False)))
    assert (off["sentiment"], off["sentiment_lang"]) == (None, None)
    assert off["content_digest"] == row["content_digest"]  # derived, not what the event says
    post = Post(event_id="p1", customer_id="c2", occurred_at=NOW, type="post", post_id="p1", thread_id="t1",
                kind="comment", topic="amps", text="Je suis très content de cet ampli.", lang="fr")  # fmt: skip
    assert event_sentiment(post)[0] > 0 and event_sentiment(post)[1] == "fr"
    vote = Vote(event_id="v1", customer_id="c3", occurred_at=NOW, type="vote", target_kind="post", target_id="p1",
                vote_type="up")  # fmt: skip
    assert event_sentiment(vote) == (None, None)
    empty = Post(event_id="p2", customer_id="c2", occurred_at=NOW, type="post", post_id="p2", thread_id="t1",
                 kind="comment", topic="amps")  # fmt: skip
    assert event_sentiment(empty) == (None, None)


def test_the_learned_terms_read_a_review_in_a_products_own_terms() -> None:
    # no word of these is in the lexicon: the English terms learned from rated reviews read them
    assert score("Cheap plastic, the knob came off the first day.", "en") < 0
    assert score("Stopped working after a week, sent it back.", "en") < -0.5
    assert score("Does exactly what it says.", "en") > 0


def test_the_learned_model_is_fitted_to_its_labels() -> None:
    # the trainer's fit on texts made here: a word seen only in positive texts learns a positive weight
    from bench.train_sentiment import Example, fit

    texts = [("the zorble knob is here", 0.95), ("a zorble one", 0.95), ("the flurp knob is here", 0.05),
             ("a flurp one", 0.05), ("the knob", 0.5), ("one knob", 0.5)]  # fmt: skip
    model = fit([Example(text, label, 1.0) for text, label in texts], penalty=0.1)
    assert model.weights["zorble"] > 0 > model.weights["flurp"]
    assert abs(model.weights.get("knob", 0.0)) < model.weights["zorble"]
