"""Review and post wording in English and French whose tone matches the intended sentiment.

Sentences are assembled from small phrase banks: an opener that carries the polarity, an aspect
(the topics that stir customers most: quality, price, reliability, how they are treated), and
for competent customers more sentences with detail. Cheap enough for a million events.
"""

from __future__ import annotations

import random

POLARITIES = ("negative", "neutral", "positive")

OPENERS = {
    "en": {
        "positive": ["Love this {thing}.", "Excellent {thing}, highly recommended.", "Great value, very happy.",
                     "Superb build and sound.", "Works perfectly, I am impressed."],
        "neutral": ["It is an okay {thing}.", "Does the job, nothing special.", "Average {thing} for the price.",
                    "Decent, with some limits."],
        "negative": ["Disappointed with this {thing}.", "Poor quality, broke quickly.", "Terrible value, avoid.",
                     "Awful experience, it stopped working.", "Not worth the money, very bad."],
    },
    "fr": {
        "positive": ["J'adore ce {thing}.", "Excellent {thing}, je recommande vivement.", "Superbe qualité, très content.",
                     "Parfait, le son est magnifique.", "Très bon rapport qualité prix."],
        "neutral": ["Un {thing} correct.", "Fait le travail, sans plus.", "Moyen pour le prix.",
                    "Correct, avec quelques limites."],
        "negative": ["Déçu par ce {thing}.", "Mauvaise qualité, cassé rapidement.", "Nul, à éviter.",
                     "Très mauvaise expérience, il ne marche plus.", "Trop cher pour ce que c'est, décevant."],
    },
}

DETAILS = {
    "en": {
        "positive": ["The {aspect} is better than expected.", "Customer service answered within a day.",
                     "Setup took five minutes with the manual.", "After {weeks} weeks of daily use it still feels new."],
        "neutral": ["The {aspect} is what you would expect.", "Shipping was on time.",
                    "I compared it with two other models before buying."],
        "negative": ["The {aspect} is a real problem.", "Support never answered my emails.",
                     "After {weeks} weeks the {aspect} failed.", "The price went up and the quality went down."],
    },
    "fr": {
        "positive": ["La {aspect} est meilleure que prévu.", "Le service client a répondu en un jour.",
                     "Installation en cinq minutes avec la notice.", "Après {weeks} semaines d'usage il est comme neuf."],
        "neutral": ["La {aspect} est conforme à l'annonce.", "Livraison dans les temps.",
                    "J'ai comparé avec deux autres modèles avant d'acheter."],
        "negative": ["La {aspect} pose un vrai problème.", "Le support n'a jamais répondu.",
                     "Après {weeks} semaines la {aspect} a lâché.", "Le prix augmente et la qualité baisse."],
    },
}

ASPECTS = {"en": ["sound", "build quality", "price", "reliability", "finish", "delivery"],
           "fr": ["qualité du son", "finition", "fiabilité", "livraison", "qualité de fabrication"]}  # fmt: skip
THINGS = {"en": ["product", "instrument", "item", "unit"], "fr": ["produit", "instrument", "article", "modèle"]}

QUESTIONS = {
    "en": ["How do I fix the {aspect} on my {thing}?", "Which {thing} would you pick for a beginner?",
           "Anyone else having trouble with the {aspect}?", "Is it worth upgrading the {aspect}?"],
    "fr": ["Comment régler la {aspect} de mon {thing} ?", "Quel {thing} conseillez-vous pour débuter ?",
           "Quelqu'un a un souci avec la {aspect} ?", "Ça vaut le coup de changer la {aspect} ?"],
}
ANSWERS = {
    "en": ["Check the {aspect} first, then reset it.", "I had the same issue: swap the cable and retune.",
           "Read the tutorial on the docs page, step 3 explains it.", "Use a lighter setting for the {aspect}."],
    "fr": ["Vérifiez d'abord la {aspect}, puis réinitialisez.", "Même souci chez moi : changez le câble.",
           "Le tutoriel de la documentation l'explique à l'étape 3.", "Essayez un réglage plus léger de la {aspect}."],
}
COMMENTS = {
    "en": ["Thanks, that helped!", "Same here.", "Great answer, thank you.", "Did not work for me."],
    "fr": ["Merci, ça m'a aidé !", "Pareil pour moi.", "Super réponse, merci.", "Ça n'a pas marché chez moi."],
}
IDEAS = {
    "en": ["Idea: a quieter {aspect} option.", "Please add a travel version with better {aspect}."],
    "fr": ["Idée : une option {aspect} plus discrète.", "Une version voyage avec une meilleure {aspect} ?"],
}


def polarity_of(rating: float) -> str:
    return "positive" if rating >= 3.75 else "negative" if rating <= 2.25 else "neutral"


def review_text(rng: random.Random, lang: str, polarity: str, detail: int) -> tuple[str, str]:
    """(title, text) with `detail` extra sentences (competent customers write more)."""
    thing = rng.choice(THINGS[lang])
    opener = rng.choice(OPENERS[lang][polarity]).format(thing=thing)
    sentences = [opener]
    for _ in range(detail):
        sentences.append(rng.choice(DETAILS[lang][polarity]).format(aspect=rng.choice(ASPECTS[lang]),
                                                                    weeks=rng.randint(2, 30)))  # fmt: skip
    return opener[:80], " ".join(sentences)


def post_text(rng: random.Random, lang: str, kind: str, detail: int) -> str:
    bank = {"question": QUESTIONS, "answer": ANSWERS, "comment": COMMENTS, "idea": IDEAS}[kind][lang]
    thing, aspect = rng.choice(THINGS[lang]), rng.choice(ASPECTS[lang])
    text = rng.choice(bank).format(thing=thing, aspect=aspect)
    if kind == "answer" and detail:
        extra = [rng.choice(ANSWERS[lang]).format(thing=thing, aspect=rng.choice(ASPECTS[lang])) for _ in range(detail)]
        text = " ".join([text, *extra])
    return text
