"""Text sentiment, English and French, offline: a score in [-1, 1] per text, or None.

A lexicon scorer in the manner of VADER (Hutto and Gilbert 2014), with three changes:

* **Bounded by balance, not by volume.** VADER sums valences and squashes the sum
  (`s / sqrt(s^2 + 15)`), so a long review with a few more positive words than negative ones
  reads as +0.99 (vaderSentiment#151). Here the score is the net valence over the gross valence
  plus a constant, `sum(v) / (sum(|v|) + K)`: how one-sided the opinion words are, which a long
  text does not push to the extremes unless it is one-sided throughout.
* **Contrast by sentence.** "good but noisy": words after a contrast word (but, however, mais,
  pourtant...) weigh 1.5, before it 0.5, within the sentence; a sentence that opens with one
  ("However, it broke") halves everything before it.
* **Review words.** "looks like" is no opinion ("I like" is); "too big" is a complaint; a few
  words of what goes wrong with a product (returned, refund, flimsy, unusable) that VADER's
  social-media lexicon lacks.
* **Language from the text's own function words** when the producer did not say it: counts of
  the commonest English and French words (the, and, is / le, et, est...), which the tokens hold
  anyway. Only English and French have lexicons here; any other language, or a text with no
  function word of either (emoji only, a product code) has no sentiment (None), never a guess.

Negation (not, never, n't, no / ne, pas, jamais, sans, aucun) flips and damps a word within the
three before it ("not bad", "no problems", "pas mal" read as mildly positive); intensifiers
(very, really / très, vraiment) raise it, dampeners (slightly, somewhat / peu, assez) lower it.
The lexicons ship in the repository (`lexicons/`, with their licences): VADER's for English,
Pattern's French adjectives plus a short list of French verbs, nouns and adverbs written here.
The constants were set on the development set (the VADER tweets), never on a set reported as an
evaluation (bench/sentiment.py).

English texts are then read by **learned terms** (`lexicons/en-learned.tsv`, written by
`python -m bench.train_sentiment` from the development sets only): a linear model over the
text's words and pairs of words, with the lexicon's balance as one more input, that reads what a
review says in a product's own terms ("stopped working", "sent it back"), which no general
lexicon lists. Its sum is divided by the norm of the term counts, so length does not push it to
the extremes either.

**Compiled.** `read` below is the reference; `native/` (Rust, built by `deploy/setup.sh` where
cargo is found) does the same reading about nine times faster, loaded with this module's word
lists and constants (one home for them), and tests/unit/test_sentiment_native.py checks the two
agree text by text. Without it, vox reads in Python: the same scores, slower.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import mul
from pathlib import Path

LEXICONS = Path(__file__).with_name("lexicons")
LANGUAGES = ("en", "fr")

#: `sum(v) / (sum(|v|) + K)`: one word of valence 2 alone gives 0.5
K = 2.0
NEGATION_SCALE = -0.74  # VADER's: "not good" is weaker than "bad"
BOOST = 0.293  # VADER's increment for an intensifier, in valence points
CONTRAST_BEFORE, CONTRAST_AFTER = 0.5, 1.5
NEGATION_REACH = 3  # words before an opinion word where a negation still applies
MAX_CHARS = 5_000  # a longer text is scored on its first 5,000 characters: enough to judge, bounded cost

NEGATIONS = {
    "en": frozenset("""not no never none nobody nothing nowhere neither nor without cannot cant dont doesnt didnt
        isnt wasnt arent werent wont wouldnt shouldnt couldnt hasnt havent hadnt aint mustnt neednt rarely seldom
        hardly don't doesn't didn't isn't wasn't aren't weren't won't wouldn't shouldn't couldn't hasn't haven't
        hadn't ain't mustn't needn't can't""".split()),
    "fr": frozenset("ne n' pas jamais sans aucun aucune rien personne nullement guère ni".split()),
}
BOOSTERS = {
    "en": {**dict.fromkeys("""absolutely amazingly awfully completely considerably deeply enormously entirely especially
        exceptionally extremely fully greatly highly hugely incredibly intensely particularly purely quite really
        remarkably so substantially thoroughly totally tremendously unbelievably utterly very super most""".split(),
                           1.0),
           **dict.fromkeys("almost barely slightly somewhat partly marginally kinda sorta little less".split(), -1.0)},
    "fr": {**dict.fromkeys("""très vraiment trop tellement absolument complètement extrêmement particulièrement
        totalement vachement hyper super si fort bien""".split(), 1.0),
           **dict.fromkeys("peu assez plutôt légèrement moyennement presque".split(), -1.0)},
}
CONTRASTS = {"en": frozenset("but however although though yet".split()),
             "fr": frozenset("mais cependant pourtant toutefois néanmoins quoique".split())}
#: the commonest function words of each language, none shared: the language detector's evidence
FUNCTION_WORDS = {
    "en": frozenset("""the and is are was were this that with for of to it my you have has be not but they would
        very what which will from at on than there their been it's i'm don't""".split()),
    "fr": frozenset("""le la les et est un une des du pas je il elle que qui pour dans ce cette mais avec sur ne au
        aux sont très plus été c'est j'ai n'est qu'il ou son sa ses nous vous""".split()),
}
#: Product-review words VADER's lexicon (built on social media) lacks: what goes wrong with a
#: product and what a customer does about it, on the same -4..4 scale
ENGLISH_EXTRA = {
    "return": -1.0, "returned": -1.5, "returning": -1.5, "refund": -1.5, "refunded": -1.5, "unusable": -2.5,
    "junk": -2.5, "garbage": -2.5, "flimsy": -1.8, "cheaply": -1.5, "poorly": -1.8, "flaw": -1.5, "flaws": -1.5,
    "defect": -1.9, "defects": -1.9, "rattles": -1.0, "rattle": -1.0, "wobbly": -1.2, "sturdy": 1.5,
    "tinny": -1.5, "issue": -1.0, "issues": -1.0, "malfunction": -2.0, "disappointing": -2.2, "unreliable": -1.8,
    "overpriced": -1.8, "recommended": 1.5, "pleased": 2.0, "works": 0.5, "durable": 1.5,
}
#: "like" is an opinion after these ("I like", "didn't like"), else a comparison ("looks like")
LIKERS = frozenset("""i we you they he she really also just do did don't didn't dont didnt would will i'd
    i'll we'd you'll to definitely""".split())
#: "too" before a word makes it a complaint ("too big", "too flexible"): the valence it then has
EXCESS = "too", -1.5

#: French opinion words that are not adjectives (Pattern's lexicon holds adjectives only)
FRENCH_EXTRA = {
    "aime": 2.0, "aimé": 2.0, "adore": 3.0, "adoré": 3.0, "recommande": 2.0, "déteste": -3.0, "détesté": -3.0,
    "déçu": -2.0, "déçue": -2.0, "déception": -2.5, "décevant": -2.0, "décevante": -2.0, "ennui": -1.5,
    "ennuyeux": -2.0, "ennuie": -1.5, "bien": 1.2, "mal": -1.5, "mieux": 1.2, "pire": -2.0, "nul": -2.5,
    "nulle": -2.5, "bravo": 2.5, "merci": 1.5, "plaisir": 2.0, "régal": 3.0, "chef-d'œuvre": 3.2,
    "problème": -1.5, "problèmes": -1.5, "panne": -2.0, "défaut": -1.5, "défauts": -1.5, "perte": -1.5,
    "arnaque": -3.0, "remboursement": -1.0, "génial": 3.0, "géniale": 3.0, "top": 2.0, "bof": -1.0,
    "hélas": -1.5, "malheureusement": -1.5, "heureusement": 1.0, "rien": 0.0, "dommage": -1.5,
}
EMOTICONS = re.compile(r"(?<!\S)(?:[:;=8xX][-'^]?[()\[\]DPpOo3/\\|*]+|<3|[()\[\]]+[-'^]?[:;=])(?!\S)")
_PUNCTUATION = ',:()[]{}"«»“”/*#~_=+<>|\\\t'
#: one character for one: str.translate's fast path (punctuation that does not end a sentence)
_BLANKS = str.maketrans(_PUNCTUATION + "’!?;…\n", " " * len(_PUNCTUATION) + "'.....")  # then split at "."
_ELISION = str.maketrans({"'": "' "})


@dataclass(frozen=True, slots=True)
class TextSentiment:
    score: float | None  # [-1, 1]; None: no sentiment (no text, another language, no opinion word)
    lang: str | None  # the language used: the producer's, else detected; None when neither
    words: int = 0  # opinion words that counted


NO_SENTIMENT = TextSentiment(None, None)


@dataclass(frozen=True, slots=True)
class LearnedTerms:
    """A linear model over a text's words and word pairs, learned from people's ratings
    (`python -m bench.train_sentiment`), that refines the lexicon's reading: the logit of
    "positive" is `lexicon_weight x lexicon score + bias + sum(weights) / |term counts|`."""

    weights: dict[str, float]  # a word or a pair of words ("not bad") -> its weight
    lexicon_weight: float
    bias: float
    neutral: float  # a score within this of 0 reads as neutral (chosen on the rated development texts)


LEARNED_FILE = LEXICONS / "en-learned.tsv"


@lru_cache(maxsize=None)
def learned_terms() -> LearnedTerms | None:
    """The learned English terms, or None where the file is absent (the lexicon alone)."""
    if not LEARNED_FILE.exists():
        return None
    weights: dict[str, float] = {}
    header: dict[str, float] = {}
    for line in LEARNED_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ") and "\t" in line:
            key, value = line[2:].split("\t")
            header[key] = float(value)
        elif line and not line.startswith("#"):
            term, weight = line.split("\t")
            weights[term] = float(weight)
    return LearnedTerms(weights, header["lexicon"], header["bias"], header["neutral"])


def terms_of(sentences: list[list[str]]) -> list[str]:
    """The words and the pairs of adjacent words of a text, as the learned model reads them."""
    words = list(chain.from_iterable(sentences))
    return words + list(map(" ".join, zip(words, words[1:])))


@lru_cache(maxsize=None)
def lexicon(lang: str) -> dict[str, float]:
    """word -> valence on VADER's -4..4 scale."""
    path = LEXICONS / {"en": "en-vader.tsv", "fr": "fr-pattern.tsv"}[lang]
    scale = 1.0 if lang == "en" else 4.0  # Pattern's polarities are -1..1
    words: dict[str, float] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, valence = line.split("\t")
            words[word] = float(valence) * scale
    words.update(FRENCH_EXTRA if lang == "fr" else ENGLISH_EXTRA)
    for negation in NEGATIONS[lang]:  # "no", "nothing": negations, not opinions of their own
        words.pop(negation, None)
    for booster in BOOSTERS[lang]:
        words.pop(booster, None)
    return words


def detect_language(present: set[str]) -> str | None:
    """en or fr by their function words; on a tie (a short text: "works great, no problems"),
    by the words each lexicon knows; None when that ties too."""
    en = len(FUNCTION_WORDS["en"] & present)
    fr = len(FUNCTION_WORDS["fr"] & present)
    if en == fr:
        en = len(lexicon("en").keys() & present)
        fr = len(lexicon("fr").keys() & present)
    if en == fr:
        return None
    return "en" if en > fr else "fr"


def base_language(lang: str | None) -> str | None:
    """"pt-BR" -> "pt"; None stays None."""
    return lang.split("-", 1)[0].lower() if lang else None


def sentences_of(text: str, french: bool = False) -> list[list[str]]:
    """Lower-cased words, sentence by sentence (negation and contrast do not cross a sentence)."""
    lowered = text[:MAX_CHARS].lower().translate(_BLANKS)
    if french:  # elisions: "n'est" -> "n'", "est"; "l'excellent" -> "l'", "excellent"
        lowered = lowered.translate(_ELISION)
    return [words for sentence in lowered.split(".") if (words := sentence.split())]


def text_sentiment(text: str, lang: str | None = None, compiled: bool = True) -> TextSentiment:
    """The sentiment of one text. `lang` as the producer gave it (ISO 639), else detected.
    `compiled=False` reads with the Python reference even where the compiled reader is built."""
    if not text or text.isspace():
        return NO_SENTIMENT
    language = base_language(lang)
    if language is not None and language not in LANGUAGES:
        return TextSentiment(None, language)
    reader = native_reader() if compiled else None
    language, balance, words, weight_sum, norm_sq = (read(text, language) if reader is None
                                                     else reader.read(text, language))  # fmt: skip
    model = learned_terms() if language == "en" else None
    if model is not None:  # a text with no opinion word the model also reads as neutral has none
        score = model_score(model, balance, weight_sum, norm_sq)
        if balance is not None or abs(score) >= model.neutral:
            return TextSentiment(round(score, 4), language, words)
        return TextSentiment(None, language)
    return TextSentiment(None if balance is None else round(balance, 4), language, words)


def read(text: str, language: str | None) -> tuple[str | None, float | None, int, float, int]:
    """What `text_sentiment` reads in a text that is not blank, `language` its base language or
    None: (language, the lexicon's balance or None, opinion words, the learned weights of its
    English terms summed, the squared norm of those terms' counts). The reference:
    `vox_native.Reader.read` (native/src/lib.rs) does the same, compiled."""
    language, sentences, balance, words = lexicon_reading(text, language)  # type: ignore[misc] - not blank
    model = learned_terms() if language == "en" else None
    weight_sum, norm_sq = term_sums(model, terms_of(sentences)) if model is not None else (0.0, 0)
    return language, balance, words, weight_sum, norm_sq


@lru_cache(maxsize=None)
def native_reader():  # noqa: ANN201 - vox_native.Reader, or None
    """The compiled reader, loaded with this module's words and constants; None where it was not
    built (`deploy/setup.sh` builds it where a Rust toolchain is found): `read` then, the same
    readings about nine times slower."""
    try:
        from vox_native import Reader
    except ImportError:
        return None

    def words_of(lang: str) -> dict:
        return {"lexicon": lexicon(lang), "negations": set(NEGATIONS[lang]), "boosters": BOOSTERS[lang],
                "contrasts": set(CONTRASTS[lang]), "function_words": set(FUNCTION_WORDS[lang])}  # fmt: skip

    model = learned_terms()
    constants = {"K": K, "NEGATION_SCALE": NEGATION_SCALE, "BOOST": BOOST, "CONTRAST_BEFORE": CONTRAST_BEFORE,
                 "CONTRAST_AFTER": CONTRAST_AFTER, "NEGATION_REACH": NEGATION_REACH, "MAX_CHARS": MAX_CHARS}  # fmt: skip
    return Reader(words_of("en"), words_of("fr"), set(LIKERS), EXCESS, model.weights if model else {}, constants)


def lexicon_reading(text: str, lang: str | None) -> tuple[str | None, list[list[str]], float | None, int] | None:
    """(language, sentences, the lexicon's balance of opinion or None, opinion words), or None
    for an empty text. The balance is None where the language has no lexicon or the text no
    opinion word."""
    if not text or text.isspace():
        return None
    language = base_language(lang)
    sentences = sentences_of(text, language == "fr")
    if language is None:
        language = detect_language(set().union(*sentences))
        if language == "fr":
            sentences = sentences_of(text, True)
    if language not in LANGUAGES:
        return language, sentences, None, 0
    words = lexicon(language)
    valences: list[float] = []
    contrasts = CONTRASTS[language]
    for sentence in sentences:
        if sentence[0] in contrasts:  # "However, ..." turns against what came before
            valences = [v * CONTRAST_BEFORE for v in valences]
        _sentence_valences(sentence, words, language, valences)
    if ":" in text or ";" in text or "<3" in text:
        english = lexicon("en")
        valences += [english.get(face, 0.0) for face in EMOTICONS.findall(text[:MAX_CHARS])]
    balance = sum(valences) / (sum(map(abs, valences)) + K) if valences else None
    return language, sentences, balance, len(valences)


def learned_score(model: LearnedTerms, terms: list[str], balance: float | None) -> float:
    """2 P(positive) - 1 by the learned model, from a text's terms and the lexicon's balance."""
    return model_score(model, balance, *term_sums(model, terms))


def term_sums(model: LearnedTerms, terms: list[str]) -> tuple[float, int]:
    """The weights of the terms the model knows, summed, and the squared norm of their counts."""
    known = list(filter(model.weights.__contains__, terms))
    counts = Counter(known).values()
    return sum(map(model.weights.__getitem__, known)), sum(map(mul, counts, counts))


def model_score(model: LearnedTerms, balance: float | None, weight_sum: float, norm_sq: int) -> float:
    """2 P(positive) - 1, the logit `lexicon_weight x balance + bias + weight_sum / |counts|`: the
    norm keeps a text repeated 200 times reading as one copy does."""
    text_part = weight_sum / math.sqrt(norm_sq) if norm_sq else 0.0
    return math.tanh((model.lexicon_weight * (balance or 0.0) + model.bias + text_part) / 2)


def _sentence_valences(sentence: list[str], words: dict[str, float], language: str, out: list[float]) -> None:
    negations, boosters, contrasts = NEGATIONS[language], BOOSTERS[language], CONTRASTS[language]
    english = language == "en"
    if (negations.isdisjoint(sentence) and boosters.keys().isdisjoint(sentence) and contrasts.isdisjoint(sentence)
            and not (english and ("like" in sentence or EXCESS[0] in sentence))):  # fmt: skip
        out += filter(None, map(words.get, sentence))  # most sentences: the opinion words as they are
        return
    hits = [i for i, word in enumerate(sentence) if word in words or (english and word == EXCESS[0])]
    turn = None  # the first contrast word's position: before it 0.5, after it 1.5
    if not contrasts.isdisjoint(sentence):
        turn = next(j for j, word in enumerate(sentence) if word in contrasts)
    for i in hits:
        word = sentence[i]
        if english and word == EXCESS[0]:
            if i + 1 < len(sentence) and words.get(sentence[i + 1], 0.0) <= 0.0:
                out.append(EXCESS[1])  # "too big"; "too good" is left to the word itself
            continue
        if english and word == "like" and (not i or (sentence[i - 1] not in LIKERS and sentence[i - 1] not in negations)):
            continue
        valence = words[word]
        if i:
            boost = boosters.get(sentence[i - 1], 0.0) + (0.95 * boosters.get(sentence[i - 2], 0.0) if i > 1 else 0.0)
            if boost:
                valence += BOOST * boost * (1.0 if valence > 0 else -1.0)
            if not negations.isdisjoint(sentence[max(0, i - NEGATION_REACH):i]):
                valence *= NEGATION_SCALE
        if turn is not None:
            valence *= CONTRAST_BEFORE if i < turn else CONTRAST_AFTER if i > turn else 1.0
        out.append(valence)
