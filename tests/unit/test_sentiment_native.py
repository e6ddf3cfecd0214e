"""The compiled reader (native/src/lib.rs) reads every text as the Python reference
(`vox.core.sentiment.text.read`) does: same language, same opinion words, same balance and same
learned sums, on hand-picked edge cases, the simulator's texts, generated texts and, where
`../shared` is there, every text of the real sets."""

from __future__ import annotations

import random
import shutil

import pytest
from hypothesis import given, settings, strategies as st

from vox.core.sentiment import text as T
from vox.simulator.text import post_text, review_text

READER = T.native_reader()
needs_reader = pytest.mark.skipif(READER is None, reason="vox_native not built (no cargo at set-up)")

EDGE_CASES = [
    "good", "Good!", "not bad at all", "No problems so far.", "It looks like a Fender",
    "I like it. Didn't like the case", "too big, too good, too", "The tone is great. The tuning pegs are bad.",
    "However, it broke. But the sound is nice", "very very good", "slightly disappointing but really not terrible",
    "Great :) :-( <3 :D xD (: ):-;", ":):) 8-) x-D (-: [[= 8- :", "pas mal du tout",
    "Ce n'est pas un mauvais livre, mais l'histoire est ennuyeuse !", "L’auteur m’a déçu… vraiment", "je n'aime pas",
    "İstanbul ΣΟΦΟΣ Straße good", "good\x1cbad\u2028nice\u00a0great", "it's ok\tbut\nthe strap; broke? no!",
    "«génial» “great” [good] {bad} *nice* #love ~hate_ =ok+ <fine> |meh| \\ok/", "😀😀😀", "12345", "...",
    ". . good . .", "a" * 6000 + " good", "good " * 2000, "Stopped working after a week, sent it back.",
    "Cheap plastic, the knob came off the first day.", "Does exactly what it says.", "the the the le le",
    # no sigma: lowered character by character (ASCII by a table), each the same as the whole string
    "İyi ÉTÉ GOOD Ǆ ẞ Ω", "L'ÉTÉ N’EST PAS MAL…VRAIMENT", "GREAT…BAD”NICE«OK»", "ΟΔΟΣ", "ΟΔΟσ good",
]


def assert_same(text: str, lang: str | None) -> None:
    reference, compiled = T.read(text, lang), READER.read(text, lang)
    assert compiled[0] == reference[0] and compiled[2] == reference[2] and compiled[4] == reference[4], (text, lang)
    if reference[1] is None:
        assert compiled[1] is None, (text, lang)
    else:  # float sums in the same order: equal but for the last bits on another Python's sum()
        assert compiled[1] == pytest.approx(reference[1], abs=1e-12), (text, lang)
    assert compiled[3] == pytest.approx(reference[3], abs=1e-9), (text, lang)


def test_the_reader_is_built_where_cargo_is() -> None:
    if shutil.which("cargo") is not None:
        assert READER is not None, "deploy/setup.sh builds native/ where cargo is found"


@needs_reader
@pytest.mark.parametrize("lang", [None, "en", "fr"])
def test_edge_cases_read_the_same(lang: str | None) -> None:
    for text in EDGE_CASES:
        assert_same(text, lang)


@needs_reader
def test_the_simulators_texts_read_the_same() -> None:
    rng = random.Random(7)
    for _ in range(2_000):
        lang = rng.choice(["en", "fr"])
        _, review = review_text(rng, lang, rng.choice(["positive", "neutral", "negative"]), rng.randint(0, 6))
        post = post_text(rng, lang, rng.choice(["question", "answer", "comment", "idea"]), rng.randint(0, 3))
        for text in (review, post):
            assert_same(text, None)
            assert_same(text, lang)


def _vocabulary() -> list[str]:
    words = sorted(T.lexicon("en"))[::7] + sorted(T.lexicon("fr"))[::7]
    words += sorted(T.NEGATIONS["en"] | T.NEGATIONS["fr"] | T.CONTRASTS["en"] | T.CONTRASTS["fr"])
    words += sorted(T.BOOSTERS["en"]) + sorted(T.BOOSTERS["fr"])
    words += sorted(T.FUNCTION_WORDS["en"] | T.FUNCTION_WORDS["fr"])
    words += ["like", "too", "i", "looks", "sent", "back", "it", "working", "l'", "n'", "est"]
    punctuation = [" ", "  ", ".", ",", "!", "?", ";", ":", "'", "’", "…", "\n", "\t"]
    return words + punctuation + [":)", ":(", "<3", "xD", "😀", "É"]


@needs_reader
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_vocabulary()), max_size=60), st.sampled_from([None, "en", "fr"]))
def test_generated_texts_read_the_same(pieces: list[str], lang: str | None) -> None:
    for separator in (" ", ""):
        text = separator.join(pieces)
        if text and not text.isspace():
            assert_same(text, lang)


@needs_reader
def test_the_real_sets_read_the_same() -> None:
    sentiment = pytest.importorskip("bench.sentiment")
    if not sentiment.VADER_SETS.is_dir():
        pytest.skip(f"{sentiment.SHARED_DATA} is not there")
    texts = [t for t, _ in sentiment.reviews()] + [t for t, _ in sentiment.french()]
    texts += [t for name in ("tweets_GroundTruth.txt", "amazonReviewSnippets_GroundTruth.txt")
              for t, _ in sentiment.rated(sentiment.VADER_SETS / name)]  # fmt: skip
    for text in texts:
        if text and not text.isspace():
            assert_same(text, None)
