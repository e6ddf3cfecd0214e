"""What every table, view and column means, for analysts: ClickHouse `COMMENT`s.

`vox db migrate` (and every worker start) sets them where they differ, so `DESCRIBE TABLE
interactions` or `SELECT name, comment FROM system.columns` answers "what is this?" without the
docs. Column comments work on every server vox supports; table and view comments need
ClickHouse 21.x or later (not the 18.16 test server), where they are set too. A test requires
a comment for every column of every table: a new column comes with its meaning.
The words of the domain (competence, implication, cells...) are in docs/glossary.md.
"""

from __future__ import annotations

from vox.clickhouse.store import Store, quote
from vox.core.customers.config import COMPETENCE_COMPONENTS, IMPLICATION_COMPONENTS

_SOURCE = {
    "source_topic": "Kafka topic the message was read from",
    "source_partition": "Kafka partition the message was read from",
    "source_offset": "Kafka offset of the message in its partition",
}

_INTERACTIONS = {
    "event_id": "the producer's id of the event: a resend with the same id is stored once",
    "event_type": "event family: review, vote, post or click",
    "customer_id": "the customer who acted (author, voter, poster, visitor)",
    "actor_role": "customer, staff, partner or anonymous (a placeholder identity, never scored)",
    "occurred_at": "when it happened (UTC), as the producer said",
    "ingested_at": "when vox stored it (UTC)",
    "product_id": "the product concerned ('' if none)",
    "brand": "the product's brand ('' if none)",
    "category": "the product category ('' if none)",
    "topic": "the forum topic of a post, or the topic the event inherits from its content ('' if none)",
    "rating": "review stars, 1 to 5 (NULL for other families)",
    "kind": "post kind: question, answer, comment or idea ('' for other families)",
    "action": "click action: view, click, search, add_to_cart, purchase or share",
    "page_type": "kind of page visited (product, documentation, tutorial, ...)",
    "vote_type": "vote kind: up, down, helpful, unhelpful, accept or favourite",
    "target_kind": "what a vote is on: review, post or idea",
    "target_id": "the content a vote is on",
    "target_author_id": "the author of the voted content, when known",
    "content_id": "id of the content this event created (a review or post id)",
    "thread_id": "the discussion thread of a post",
    "parent_post_id": "the post a reply answers",
    "reply_to_customer_id": "whom a post answers, when known",
    "session_id": "visit session of a click",
    "mentions": "customer ids mentioned in a post",
    "title": "title of a review or post",
    "text": "text of a review or post",
    "text_length": "characters in text",
    "lang": "language code the producer gave ('' if none)",
    "verified_purchase": "1 if the review is from a verified purchase",
    "accepted": "for answers: 1 if the asker accepted it (NULL if not said)",
    "dwell_ms": "time on page in milliseconds (clicks)",
    "order_value": "amount of a purchase, in the shop's currency (clicks)",
    **_SOURCE,
    "content_digest": "hash of what the event said: tells a changed resend from an exact one",
    "sentiment": "what the text says, -1 (negative) to 1 (positive); NULL without text or opinion words",
    "sentiment_lang": "language the text was read in (the producer's lang, else detected); NULL without text",
}

_DEAD_LETTERS = {
    **_SOURCE,
    "message_timestamp": "the Kafka message's timestamp",
    "received_at": "when vox rejected it",
    "reason_class": "why, in one word (not_json, invalid_field, out_of_window, ...: README, 'Dead letters')",
    "reason": "why, in words: the field and what was wrong",
    "message_key": "the Kafka message key",
    "payload_size": "bytes of the original message",
    "payload_preview": "the start of the original message, as text",
    "payload_base64": "the whole original message, base64",
}

_MEANING_OF_COMPONENT = {
    "c_breadth": "competence component 0..1: categories, topics and products engaged",
    "c_quality": "competence component 0..1: approval of their content, accepted answers, answering vs asking",
    "c_depth": "competence component 0..1: how detailed their reviews and answers are",
    "c_recognition": "competence component 0..1: distinct customers who replied to, mentioned or up-voted them",
    "c_learning": "competence component 0..1: share of their visits on documentation and tutorials",
    "c_accuracy": "competence component 0..1: how close their ratings are to each product's consensus",
    "i_frequency": "implication component 0..1: frequency and recency of what they do",
    "i_durability": "implication component 0..1: distinct active weeks lately",
    "i_depth": "implication component 0..1: pages per session and time per page",
    "i_co_creation": "implication component 0..1: ideas submitted and votes cast",
    "i_community": "implication component 0..1: questions, answers, comments",
    "i_purchases": "implication component 0..1: purchases",
}
assert set(_MEANING_OF_COMPONENT) == {f"c_{n}" for n in COMPETENCE_COMPONENTS} | {f"i_{n}" for n in IMPLICATION_COMPONENTS}

_SCORES = {
    "customer_id": "the customer",
    "version": "what makes the latest row win (use FINAL or the views)",
    "updated_at": "the time the scores are as of (UTC): a sweep point, not the last event",
    "competence": "competence 0..100: what the customer knows and can do in the category",
    "implication": "implication 0..100: how much they engage with the brand and community",
    "cell": "typology cell (competence level x implication level): docs/glossary.md",
    "competence_level": "low, medium or high (cut points adapt to the population)",
    "implication_level": "low, medium or high (cut points adapt to the population)",
    "role": "dominant co-production role: executant, assistant_marketing, relais, apporteur_de_solutions",
    "actor_role": "customer, staff or partner",
    "is_staff": "1 for staff accounts: scored, left out of the typology views",
    "value": "economic value: spend, recent purchases weighing more (90-day half-life)",
    "rfm_recency_days": "days from the last purchase to updated_at (-1: never bought)",
    "rfm_frequency": "recent purchases (decayed count)",
    "rfm_monetary": "average amount of a recent purchase",
    "days_since_active": "days from their last own action to updated_at",
    "action": "recommended Knowledge Marketing action for the cell, in words",
    **_MEANING_OF_COMPONENT,
    "left_out": "components with no evidence yet for this customer: shown at a prior, not in the score",
    "competence_evidence": "provisional or established: whether enough evidence backs the competence",
    "implication_evidence": "provisional or established: whether the customer was observed long enough",
    "not_observed": "components nothing in this deployment can feed (no clickstream...): out for everyone",
    "signals": "signals applied so far: their own actions and others' reactions to them",
    "competence_evidence_amount": "competence evidence: contributions, votes received, rated reviews, a tenth of "
    "page views (decayed); established from 10 (VOX_SCORING__ESTABLISHED_COMPETENCE_EVIDENCE)",
    "observed_days": "days from their first signal to updated_at; implication established from 30",
}

_TRANSITIONS = {
    "customer_id": "the customer who moved",
    "from_cell": "cell before the move",
    "to_cell": "cell after the move",
    "at": "when (UTC): the sweep point that placed them",
    "competence": "competence 0..100 after the move",
    "implication": "implication 0..100 after the move",
    "action": "recommended action of the new cell",
}

_STANDING = {
    "topic": "the topic (a post's topic, a review's category)",
    "customer_id": "the customer",
    "rank": "rank among the topic's candidates (1 = first)",
    "score": "leader score 0..1: credibility x (0.3 who + 0.3 what + 0.4 whom)",
    "kind": "expert (leads by what they know) or communicator (by whom they know and how they engage)",
    "who": "who one is 0..1: persistence, regularity, responses their posts draw",
    "what": "what one knows 0..1: competence in this topic",
    "whom": "whom one knows 0..1: interlocutors, customers who sought them out, centrality",
    "credibility": "credibility 0..1: approval of their content and recognition by distinct customers",
}
_LEADER_COMPONENTS = {
    "active_weeks": "distinct active weeks in the topic",
    "regularity": "active weeks over the span of their activity",
    "responses_drawn": "responses their posts draw (decayed)",
    "accepted": "answers accepted (decayed)",
    "positive_votes": "positive votes received (decayed)",
    "answer_share": "share of answers among their questions and answers",
    "interlocutors": "distinct customers they exchanged with",
    "seekers": "distinct customers who sought them out (asked, replied to them)",
    "centrality": "PageRank in the topic's interaction graph",
}
_LEADERS = {
    **_STANDING,
    "is_leader": "1 while the customer is among the topic's leaders",
    "candidate": "1 if they have the evidence to lead (contributions, distinct recognisers) and are not staff",
    "flags": "staff or partner (never ranked), single_brand (mostly about one brand: maybe not disinterested)",
    **_LEADER_COMPONENTS,
    **{f"{name}_part": f"{words}, normalised 0..1 against the topic's candidates"
       for name, words in _LEADER_COMPONENTS.items()},  # fmt: skip
    "contributions": "their posts and reviews in the topic",
    "ranked_at": "event time of the ranking (UTC)",
    "version": "what makes the latest row win (use FINAL or current_leaders)",
}

#: table -> (what it is, {column: what it means})
COMMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "interactions": ("One row per valid event, as received.", _INTERACTIONS),
    "dead_letters": ("Messages rejected at ingest, with the reason and the original bytes.", _DEAD_LETTERS),
    "customer_scores": ("Every customer's latest scores, cell and evidence (use FINAL).", _SCORES),
    "customer_score_history": ("A customer's scores whenever one moved 2 points or the cell changed.", _SCORES),
    "segment_transitions": ("Every move of a customer between typology cells.", _TRANSITIONS),
    "ingest_progress": ("Internal: how far each worker stage has processed each partition.", {
        "consumer_group": "the worker group", "topic": "Kafka topic", "partition": "Kafka partition",
        "next_offset": "first offset not processed yet", "updated_at": "when it was saved"}),
    "event_keys": ("Internal: the deduplication look-up of event ids.", {
        "key": "hash of the event id", "event_id": "the event id",
        "content_digest": "hash of what the first copy said"}),
    "forgotten_customers": ("Customers erased by `vox forget` (a hash, not the id).", {
        "key": "SHA-256 of the customer id", "forgotten_at": "when they were forgotten"}),
    "schema_migrations": ("Internal: the schema versions applied.", {
        "version": "migration number", "name": "what it changed", "applied_at": "when"}),
    "sentiment_windows": ("Sentiment per subject (brand, product, category, topic) and hour.", {
        "subject_kind": "brand, product, category or topic", "subject": "the brand, product, category or topic",
        "window_start": "start of the window (UTC, event time)", "window_minutes": "window length in minutes",
        "opinions": "opinions in the window (events with a sentiment)", "mean": "mean sentiment -1..1",
        "share_negative": "share of negative opinions", "share_positive": "share of positive opinions",
        "version": "what makes the latest row win (use FINAL or sentiment_timeline)"}),
    "sentiment_alerts": ("Sentiment shift alerts: raised, then ended.", {
        "alert_id": "the alert", "subject_kind": "brand, product, category or topic", "subject": "the subject",
        "status": "open or ended", "direction": "negative or positive: which way sentiment moved",
        "baseline": "sentiment level before the change (-1..1)", "baseline_sd": "spread of opinions before",
        "level": "sentiment level since the change", "magnitude": "(level - baseline) / baseline_sd: the shift in standard deviations",
        "started_at": "estimated start of the change (UTC)", "detected_at": "event time of detection (UTC)",
        "detected_event_id": "the event that confirmed it", "events_since_change": "opinions since the start",
        "evidence": "ids of the most negative (or positive) recent events",
        "ended_at": "when the level returned (NULL while open)", "end_reason": "why it ended",
        "ended_level": "the level when it ended", "version": "0 raised, 1 ended"}),
    "opinion_leaders": ("Every candidate's standing per topic, leaders flagged (use FINAL or current_leaders).",
                        _LEADERS),
    "opinion_leader_history": ("Every entry into and exit from a topic's leaders.", {
        **_STANDING, "change": "entered or left", "at": "when (UTC, event time)",
        "version": "what makes the latest row win"}),
    # views: the comment of the view only (their columns are the tables')
    "typology_matrix": ("Customers per cell with mean scores (staff excluded).", {}),
    "typology_matrix_established": ("Customers per cell, placements established on both axes only.", {}),
    "segment_flows": ("Moves between cells per day.", {}),
    "customer_explanation": ("One row per customer: what `vox explain` shows.", {}),
    "sentiment_timeline": ("Each subject's sentiment windows.", {}),
    "open_alerts": ("Sentiment alerts still open.", {}),
    "current_leaders": ("The current leaders of each topic, by rank.", {}),
}


def apply_comments(store: Store) -> int:
    """Set every comment that differs from COMMENTS; return how many were set."""
    db = store.database
    present = {(t, c): comment for t, c, comment in store.query(
        f"SELECT table, name, comment FROM system.columns WHERE database = {quote(db)}")}  # fmt: skip
    tables = {name for (name,) in store.query(f"SELECT name FROM system.tables WHERE database = {quote(db)}")}
    changed = 0
    for table, (_, columns) in COMMENTS.items():
        stale = [(column, words) for column, words in columns.items()
                 if (table, column) in present and present[(table, column)] != words]  # fmt: skip
        if stale:  # one ALTER per table: a first migrate sets some 250 comments
            store.execute(f"ALTER TABLE {db}.{table} " + ", ".join(f"COMMENT COLUMN {column} {quote(words)}"
                                                                  for column, words in stale))  # fmt: skip
            changed += len(stale)
    if store.dialect.version >= (21, 6):  # table comments: system.tables.comment, ALTER ... MODIFY COMMENT
        described = dict(store.query(f"SELECT name, comment FROM system.tables WHERE database = {quote(db)}"))
        for table, (words, _) in COMMENTS.items():
            if table in tables and described.get(table) != words:
                store.execute(f"ALTER TABLE {db}.{table} MODIFY COMMENT {quote(words)}")
                changed += 1
    return changed
