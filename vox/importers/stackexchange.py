"""`vox import stackexchange DUMP_DIR`: a Stack Exchange data dump to vox events.

* Questions, answers and comments become `post` events. A question's first tag is the topic of
  its whole thread; an answer replies to the asker; a comment replies to the author of the post
  it is on; `@name` in a comment becomes a mention when exactly one user has that name.
* Votes become `vote` events on their post, with the post's author as `target_author_id`:
  up (2), down (3), favourite (5) and accept (1). An accept is cast by the asker, at the vote's
  day but never before the answer existed. Other vote types (bounties, closing, spam, edits)
  are not recognition and are skipped.
* Public dumps hide who cast up and down votes. Each such vote still counts as recognition
  received by the author, from a voter id of its own, `SITE:anon:vVOTEID`: one distinct unknown
  voter per vote, so no invented customer accumulates thousands of votes, marked
  `actor_role: anonymous`: evidence for the author, never scored or placed themselves.
* Vote dates are days: a vote is placed at the start of its day, or just after the post it is
  on when the post is from that same day.
* Accounts with negative ids (the `Community` bot) are marked `actor_role: staff`.
* The dump is streamed (`iterparse`, each row cleared once read) and indexed in a temporary
  SQLite file, so memory stays bounded whatever the dump's size.
"""

from __future__ import annotations

import re
import sqlite3
import xml.etree.ElementTree as ET
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterator

from vox.schemas.events import MAX_TEXT_CHARS
from vox.errors import VoxError
from vox.importers.common import EventSpill, ImportReport, iso_utc, write_events

REQUIRED_FILES = ("Posts.xml", "Votes.xml", "Comments.xml", "Users.xml")
#: What a deployment fed by this dump alone can show (`VOX_SCORING__FEEDS`): no clickstream, no
#: purchase, no star rating; favourites are votes by known users (co-creation).
FEEDS = ("contributions", "posts", "co_creation")
VOTE_TYPES = {"1": "accept", "2": "up", "3": "down", "5": "favourite"}
MENTION = re.compile(r"@([\w][\w.\-]{2,})")
ONE_MS_AFTER = re.compile(r"\.(\d{3})Z$")


class _TextExtractor(HTMLParser):
    BLOCKS = {"p", "br", "li", "pre", "blockquote", "h1", "h2", "h3", "h4", "hr", "div", "tr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of a post body: tags dropped, entities decoded, white space tidied."""
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    text = unescape("".join(extractor.parts))
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r"\n\s*\n+", "\n\n", text).strip()
    return text[:MAX_TEXT_CHARS]


def first_tag(tags: str | None) -> str | None:
    if not tags:
        return None
    found = re.findall(r"<([^>]+)>", tags) or [t for t in tags.split("|") if t]
    return found[0][:200] if found else None


def rows(path: Path, advance: Callable[[int], None]) -> Iterator[dict[str, str]]:
    """Each `<row .../>` of a dump file as a dict, streamed with bounded memory."""
    with open(path, "rb") as handle:
        position = 0
        for _, element in ET.iterparse(handle, events=("end",)):
            if element.tag == "row":
                yield dict(element.attrib)
            element.clear()
            now = handle.tell()
            if now != position:
                advance(now - position)
                position = now


def just_after(timestamp: str) -> str:
    """The same timestamp plus one millisecond (for something that must follow it)."""
    match = ONE_MS_AFTER.search(timestamp)
    millis = int(match.group(1)) if match else 0
    if millis < 999:
        return f"{timestamp[:-5]}.{millis + 1:03d}Z"
    return timestamp  # the next second would need a carry: equal time, still ordered by id


class StackExchangeImport:
    def __init__(self, dump: Path, site: str, report: ImportReport, advance: Callable[[int], None]):
        self.dump, self.site, self.report, self.advance = dump, site, report, advance
        self.spill = EventSpill()
        self.db = self._index_db()

    def _index_db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.spill.directory / "index.db")  # beside the spill, removed with it
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("CREATE TABLE posts (id TEXT PRIMARY KEY, type TEXT, owner TEXT, parent TEXT, topic TEXT, "
                   "created TEXT, accepted TEXT)")  # fmt: skip
        db.execute("CREATE TABLE users (name TEXT, id TEXT)")
        return db

    # -- ids -------------------------------------------------------------------------------

    def customer(self, user_id: str) -> str:
        return f"{self.site}:u{user_id}"

    def envelope(self, kind: str, row_id: str, user_id: str | None, occurred_at: str) -> dict:
        """Common fields; no user id means an anonymous voter, one of its own per vote."""
        customer = self.customer(user_id) if user_id else f"{self.site}:anon:v{row_id}"
        event = {"event_id": f"{self.site}:{kind}{row_id}", "customer_id": customer, "occurred_at": occurred_at}
        if not user_id:
            event["actor_role"] = "anonymous"
        elif user_id.startswith("-"):
            event["actor_role"] = "staff"
        return event

    # -- passes ----------------------------------------------------------------------------

    def index(self) -> None:
        """Pass 1: who wrote which post, its thread topic, and user names for @mentions."""
        batch = []
        for row in rows(self.dump / "Posts.xml", self.advance):
            batch.append((row["Id"], row.get("PostTypeId"), row.get("OwnerUserId"), row.get("ParentId"),
                          first_tag(row.get("Tags")), iso_utc(row["CreationDate"]), row.get("AcceptedAnswerId")))  # fmt: skip
            if len(batch) >= 10_000:
                self.db.executemany("INSERT OR REPLACE INTO posts VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                batch.clear()
        self.db.executemany("INSERT OR REPLACE INTO posts VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
        names = ((re.sub(r"\s+", "", row.get("DisplayName", "")).lower(), row["Id"])
                 for row in rows(self.dump / "Users.xml", self.advance))  # fmt: skip
        self.db.executemany("INSERT INTO users VALUES (?, ?)", names)
        self.db.execute("CREATE INDEX users_by_name ON users (name)")

    def post(self, post_id: str) -> tuple | None:
        """(type, owner, thread id, topic, created, accepted answer id) of a post, thread from its question."""
        found = self.db.execute("SELECT type, owner, parent, topic, created, accepted FROM posts WHERE id = ?",
                                (post_id,)).fetchone()  # fmt: skip
        if found is None:
            return None
        kind, owner, parent, topic, created, accepted = found
        if kind == "2" and parent:
            question = self.db.execute("SELECT topic, accepted FROM posts WHERE id = ?", (parent,)).fetchone()
            topic = question[0] if question else None
            return kind, owner, parent, topic, created, question[1] if question else None
        return kind, owner, post_id, topic, created, accepted

    def posts(self) -> None:
        """Pass 2: questions and answers."""
        for row in rows(self.dump / "Posts.xml", self.advance):
            kind = {"1": "question", "2": "answer"}.get(row.get("PostTypeId", ""))
            if kind is None:
                self.report.skip("posts of other types (wiki, tag excerpts)")
                continue
            owner = row.get("OwnerUserId")
            if not owner:
                self.report.skip("posts by deleted accounts")
                continue
            info = self.post(row["Id"])
            assert info is not None
            _, _, thread, topic, created, accepted = info
            if not topic:
                self.report.skip("posts whose question is not in the dump")
                continue
            body = html_to_text(row.get("Body", ""))
            event = self.envelope("p", row["Id"], owner, created) | {
                "type": "post", "post_id": f"{self.site}:p{row['Id']}", "thread_id": f"{self.site}:p{thread}",
                "kind": kind, "topic": topic}  # fmt: skip
            if kind == "question":
                event["text"] = html_to_text(row.get("Title", "")) + "\n\n" + body
            else:
                question = self.post(thread)
                event["text"] = body
                event["parent_post_id"] = f"{self.site}:p{thread}"
                event["accepted"] = accepted == row["Id"]
                if question and question[1] and question[1] != owner:
                    event["reply_to_customer_id"] = self.customer(question[1])
            event["text"] = event["text"][:MAX_TEXT_CHARS]
            self.spill.add(event)

    def comments(self) -> None:
        for row in rows(self.dump / "Comments.xml", self.advance):
            user = row.get("UserId")
            if not user:
                self.report.skip("comments by deleted accounts")
                continue
            info = self.post(row["PostId"])
            if info is None or not info[3]:
                self.report.skip("comments on posts not in the dump")
                continue
            _, owner, thread, topic, _, _ = info
            text = row.get("Text", "")
            event = self.envelope("c", row["Id"], user, iso_utc(row["CreationDate"])) | {
                "type": "post", "post_id": f"{self.site}:c{row['Id']}", "thread_id": f"{self.site}:p{thread}",
                "parent_post_id": f"{self.site}:p{row['PostId']}", "kind": "comment", "topic": topic,
                "text": text[:MAX_TEXT_CHARS]}  # fmt: skip
            if owner and owner != user:
                event["reply_to_customer_id"] = self.customer(owner)
            mentions = self.mentions(text, exclude=user)
            if mentions:
                event["mentions"] = mentions
            self.spill.add(event)

    def mentions(self, text: str, exclude: str) -> list[str]:
        found = []
        for name in MENTION.findall(text)[:50]:
            ids = self.db.execute("SELECT id FROM users WHERE name = ? LIMIT 2", (name.lower().rstrip("."),)).fetchall()
            if len(ids) == 1 and ids[0][0] != exclude and self.customer(ids[0][0]) not in found:
                found.append(self.customer(ids[0][0]))
        return found

    def votes(self) -> None:
        for row in rows(self.dump / "Votes.xml", self.advance):
            vote_type = VOTE_TYPES.get(row.get("VoteTypeId", ""))
            if vote_type is None:
                self.report.skip(f"votes of type {row.get('VoteTypeId')} (not recognition)")
                continue
            info = self.post(row["PostId"])
            if info is None:
                self.report.skip("votes on posts not in the dump")
                continue
            _, author, thread, topic, created, _ = info
            if not author:
                self.report.skip("votes on posts by deleted accounts")
                continue
            if vote_type == "accept":
                question = self.post(thread)
                voter = question[1] if question else None
                if not voter:
                    self.report.skip("accepts by deleted askers")
                    continue
            else:
                voter = row.get("UserId")  # only favourites and bounties name the voter
            occurred = max(iso_utc(row["CreationDate"]), just_after(created))
            event = self.envelope("v", row["Id"], voter, occurred) | {
                "type": "vote", "target_kind": "post", "target_id": f"{self.site}:p{row['PostId']}",
                "target_author_id": self.customer(author), "vote_type": vote_type}  # fmt: skip
            if topic:  # the thread's, as its posts'
                event["target_topic"] = topic
            self.spill.add(event)

    def run(self, out: Path) -> None:
        try:
            self.index()
            self.posts()
            self.comments()
            self.votes()
            write_events(self.spill, out, self.report)
        finally:
            self.db.close()
            self.spill.close()


def default_site(dump: Path) -> str:
    """`stackexchange-quantumcomputing-2018` -> `quantumcomputing`."""
    name = re.sub(r"^stackexchange[-_.]", "", dump.resolve().name)
    name = re.sub(r"[-_.]\d{4}$", "", name)
    return re.sub(r"[^A-Za-z0-9.-]", "-", name) or "stackexchange"


def import_stackexchange(dump: Path, out: Path, site: str | None = None, progress: bool = True) -> ImportReport:
    from tqdm import tqdm

    missing = [name for name in REQUIRED_FILES if not (dump / name).is_file()]
    if missing:
        raise VoxError(f"{dump} is not a Stack Exchange dump: missing {', '.join(missing)}")
    site = site or default_site(dump)
    report = ImportReport()
    # Posts.xml is read twice (index, then events); the other files once.
    total = 2 * (dump / "Posts.xml").stat().st_size + sum((dump / n).stat().st_size for n in REQUIRED_FILES[1:])
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"importing {site}", disable=not progress) as bar:
        StackExchangeImport(dump, site, report, bar.update).run(out)
    return report
