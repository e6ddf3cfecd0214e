"""Importers on the two real samples in ../shared/data, and on tiny hand-written edge cases."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA
from vox.importers.amazon import import_amazon_reviews
from vox.importers.stackexchange import html_to_text, import_stackexchange
from vox.kafka.topics import INPUT_TOPICS
from vox.core.triage import RawMessage, triage

SE_DUMP = SHARED_DATA / "stackexchange-quantumcomputing-2018"
AMAZON = SHARED_DATA / "amazon-musical-instruments-dev" / "reviews.jsonl.gz"
TOPIC_OF = {family: f"vox.{suffix}" for suffix, family in INPUT_TOPICS.items()}


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not here (CI has ../shared beside the clone)")
    return path


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def assert_valid_and_time_ordered(path: Path) -> None:
    lines = path.read_bytes().splitlines()
    messages = [RawMessage(TOPIC_OF[json.loads(line)["type"]], 0, n, line) for n, line in enumerate(lines)]
    assert triage(messages, {t: f for f, t in TOPIC_OF.items()}).rejected == []
    times = [json.loads(line)["occurred_at"] for line in lines]
    assert times == sorted(times)


def imported(factory: pytest.TempPathFactory, importer, source: Path) -> tuple[list[dict], object, Path]:
    """(events, report, output file) of one import of a real sample."""
    out = factory.mktemp("import") / "events.jsonl"
    report = importer(need(source), out, progress=False)
    return read(out), report, out


@pytest.fixture(scope="module")
def stackexchange(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], object, Path]:
    return imported(tmp_path_factory, import_stackexchange, SE_DUMP)


def test_stackexchange_counts_by_family_and_kind(stackexchange) -> None:
    events, report, _ = stackexchange
    assert dict(report.families) == {"post": 5082, "vote": 11457}
    kinds = Counter(e.get("kind") or e["vote_type"] for e in events)
    # counted independently from the XML: posts of type 1 / 2 with an owner, comments by a known
    # user on a post in the dump, votes of type 2 / 3 / 5 / 1 on a post with an owner
    assert kinds == {"question": 611, "answer": 1059, "comment": 3412, "up": 9936, "down": 426,
                     "favourite": 706, "accept": 389}  # fmt: skip
    assert report.skipped["votes on posts not in the dump"] == 401
    assert report.skipped["posts of other types (wiki, tag excerpts)"] == 314


def test_stackexchange_answers_reply_to_the_asker(stackexchange) -> None:
    events, _, _ = stackexchange
    posts = {row.get("Id"): row.attrib for row in ET.parse(SE_DUMP / "Posts.xml").getroot()}
    answers = [e for e in events if e.get("kind") == "answer"]
    for answer in answers:
        question = posts[answer["parent_post_id"].split(":p")[1]]
        asker = question.get("OwnerUserId")
        if asker and f"quantumcomputing:u{asker}" != answer["customer_id"]:
            assert answer["reply_to_customer_id"] == f"quantumcomputing:u{asker}"
        else:
            assert "reply_to_customer_id" not in answer
        assert answer["accepted"] == (question.get("AcceptedAnswerId") == answer["post_id"].split(":p")[1])
    assert sum(a["accepted"] for a in answers) == 389


def test_stackexchange_accepts_are_cast_by_the_asker_after_the_answer(stackexchange) -> None:
    events, _, _ = stackexchange
    by_id = {e["event_id"]: e for e in events}
    for vote in (e for e in events if e.get("vote_type") == "accept"):
        answer = by_id[vote["target_id"].replace(":p", ":p", 1)]
        question = by_id[answer["parent_post_id"]]
        assert vote["customer_id"] == question["customer_id"]
        assert vote["target_author_id"] == answer["customer_id"]
        assert vote["occurred_at"] > answer["occurred_at"]


def test_stackexchange_anonymous_votes_have_a_voter_each(stackexchange) -> None:
    events, _, _ = stackexchange
    anonymous = [e for e in events if e["type"] == "vote" and ":anon:" in e["customer_id"]]
    assert len(anonymous) == 9936 + 426  # every up and down vote
    assert len({e["customer_id"] for e in anonymous}) == len(anonymous)
    assert all(e["target_author_id"].startswith("quantumcomputing:u") for e in anonymous)


@pytest.fixture(scope="module")
def amazon(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], object, Path]:
    return imported(tmp_path_factory, import_amazon_reviews, AMAZON)


def test_amazon_counts_and_votes(amazon) -> None:
    events, report, _ = amazon
    assert dict(report.families) == {"review": 5050, "vote": 9450}
    assert Counter(e["vote_type"] for e in events if e["type"] == "vote") == {"helpful": 8016, "unhelpful": 1434}
    assert {e["category"] for e in events if e["type"] == "review"} == {"musical-instruments"}
    assert not any("brand" in e for e in events)  # the file does not say it: no placeholder brand
    reviews = {e["review_id"]: e for e in events if e["type"] == "review"}
    for vote in (e for e in events if e["type"] == "vote"):
        assert reviews[vote["target_id"]]["customer_id"] == vote["target_author_id"]
        assert vote["occurred_at"] > reviews[vote["target_id"]]["occurred_at"]


@pytest.mark.parametrize("sample, importer, source", [
    ("stackexchange", import_stackexchange, SE_DUMP),
    ("amazon", import_amazon_reviews, AMAZON),
])  # fmt: skip
def test_output_is_valid_ordered_and_idempotent(sample, importer, source, request, tmp_path: Path) -> None:
    _, _, first = request.getfixturevalue(sample)
    assert_valid_and_time_ordered(first)
    again = tmp_path / "again.jsonl"
    importer(source, again, progress=False)
    assert again.read_bytes() == first.read_bytes()  # same ids, same order: replays stay idempotent


# -- hand-written edge cases ---------------------------------------------------------------


def write_dump(folder: Path, posts: str, votes: str = "", comments: str = "", users: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, tag, body in (("Posts", "posts", posts), ("Votes", "votes", votes),
                            ("Comments", "comments", comments), ("Users", "users", users)):  # fmt: skip
        (folder / f"{name}.xml").write_text(f'\ufeff<?xml version="1.0" encoding="utf-8"?>\n<{tag}>\n{body}</{tag}>\n')
    return folder


def test_stackexchange_edge_cases(tmp_path: Path) -> None:
    dump = write_dump(
        tmp_path / "stackexchange-tiny-2020",
        posts=(  # the answer comes first in the file; new-style '|tag|' tags; a deleted owner; an entity
            '<row Id="11" PostTypeId="2" ParentId="10" CreationDate="2020-01-01T10:05:00.000" OwnerUserId="2" '
            'Body="&lt;p&gt;Use &amp;amp; not &amp;lt;&lt;/p&gt;" />\n'
            '<row Id="10" PostTypeId="1" AcceptedAnswerId="11" CreationDate="2020-01-01T10:00:00.000" '
            'OwnerUserId="1" Title="How?" Tags="|qiskit|gates|" Body="&lt;b&gt;Why&lt;/b&gt;" />\n'
            '<row Id="12" PostTypeId="2" ParentId="10" CreationDate="2020-01-01T11:00:00.000" Body="x" />\n'
            '<row Id="13" PostTypeId="2" ParentId="10" CreationDate="2020-01-01T12:00:00.000" OwnerUserId="-1" Body="y" />\n'
        ),
        votes=(
            '<row Id="1" PostId="11" VoteTypeId="1" CreationDate="2020-01-01T00:00:00.000" />\n'
            '<row Id="2" PostId="11" VoteTypeId="2" CreationDate="2020-01-02T00:00:00.000" />\n'
            '<row Id="3" PostId="11" VoteTypeId="2" CreationDate="2020-01-02T00:00:00.000" />\n'
            '<row Id="4" PostId="99" VoteTypeId="2" CreationDate="2020-01-02T00:00:00.000" />\n'
            '<row Id="5" PostId="12" VoteTypeId="2" CreationDate="2020-01-02T00:00:00.000" />\n'
            '<row Id="6" PostId="10" VoteTypeId="5" UserId="2" CreationDate="2020-01-02T00:00:00.000" />\n'
            '<row Id="7" PostId="10" VoteTypeId="16" CreationDate="2020-01-02T00:00:00.000" />\n'
        ),
        comments=(
            '<row Id="30" PostId="11" Text="thanks @Bob Smith and @Al" CreationDate="2020-01-01T10:06:00.000" UserId="1" />\n'
            '<row Id="31" PostId="11" Text="anon" CreationDate="2020-01-01T10:07:00.000" />\n'
        ),
        users=('<row Id="-1" DisplayName="Community" />\n<row Id="1" DisplayName="Al" />\n'
               '<row Id="2" DisplayName="Bob" />\n<row Id="3" DisplayName="Al" />\n'),  # fmt: skip
    )
    out = tmp_path / "out.jsonl"
    report = import_stackexchange(dump, out, progress=False)
    events = {e["event_id"]: e for e in read(out)}
    assert_valid_and_time_ordered(out)
    answer, question = events["tiny:p11"], events["tiny:p10"]
    assert question["topic"] == answer["topic"] == "qiskit"
    assert question["text"] == "How?\n\nWhy" and answer["text"] == "Use & not <"
    assert answer["reply_to_customer_id"] == "tiny:u1" and answer["accepted"] is True
    accept = events["tiny:v1"]  # the vote's day starts before the answer existed: just after it
    assert accept["customer_id"] == "tiny:u1" and accept["occurred_at"] == "2020-01-01T10:05:00.001Z"
    assert events["tiny:v2"]["customer_id"] == "tiny:anon:v2" and events["tiny:v3"]["customer_id"] == "tiny:anon:v3"
    assert events["tiny:v6"]["customer_id"] == "tiny:u2" and events["tiny:v6"]["vote_type"] == "favourite"
    assert events["tiny:p13"]["actor_role"] == "staff"
    assert events["tiny:c30"]["mentions"] == ["tiny:u2"]  # '@Bob' is one user; '@Al' is two: not resolved
    assert events["tiny:c30"]["reply_to_customer_id"] == "tiny:u2"
    assert report.skipped == {"posts by deleted accounts": 1, "votes on posts not in the dump": 1,
                              "votes on posts by deleted accounts": 1, "votes of type 16 (not recognition)": 1,
                              "comments by deleted accounts": 1}  # fmt: skip


def test_html_to_text() -> None:
    assert html_to_text("<p>a&nbsp;b</p><pre><code>x &lt; 1</code></pre><ul><li>one</li><li>two</li></ul>") == \
        "a\xa0b\nx < 1\none\ntwo"  # fmt: skip


def test_amazon_plain_file_with_bad_lines(tmp_path: Path) -> None:
    good = {"reviewerID": "R1", "asin": "P1", "helpful": [2, 3], "reviewText": "Nice", "overall": 5.0,
            "summary": "ok", "unixReviewTime": 1393545600}  # fmt: skip
    source = tmp_path / "reviews_Office_Products_5.json"
    source.write_text("\n".join([json.dumps(good), "not json", json.dumps(good | {"helpful": [5, 1], "asin": "P2"}),
                                 json.dumps({"asin": "P3"}), ""]))  # fmt: skip
    out = tmp_path / "out.jsonl"
    report = import_amazon_reviews(source, out, progress=False)
    events = read(out)
    assert dict(report.families) == {"review": 1, "vote": 3}
    assert report.skipped == {"lines that are not JSON": 1, "lines with a bad value": 1, "lines missing a field": 1}
    assert events[0]["category"] == "office-products" and events[0]["occurred_at"] == "2014-02-28T00:00:00.000Z"
    gz = tmp_path / "same.jsonl.gz"
    gz.write_bytes(gzip.compress(source.read_bytes()))
    import_amazon_reviews(gz, tmp_path / "gz.jsonl", category="office-products", progress=False)
    assert (tmp_path / "gz.jsonl").read_bytes() == out.read_bytes()
