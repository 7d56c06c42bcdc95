"""The SQLite store's tables, their versions, and how times are written.

Kept apart from the connection code so the delivery worker (and a later
migration) can read the schema and use the same time format.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "parse_timestamp", "timestamp"]

#: MIGRATIONS[n] takes the schema from version n to n + 1; PRAGMA user_version
#: holds the version, so a later release appends a step and never edits one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS submissions (
            reference     TEXT PRIMARY KEY,
            form          TEXT NOT NULL,
            form_version  TEXT NOT NULL,
            locale        TEXT NOT NULL,
            data          TEXT NOT NULL,
            spam          INTEGER NOT NULL DEFAULT 0 CHECK (spam IN (0, 1)),
            client        TEXT,
            submitted_at  TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS submissions_by_form ON submissions (form, submitted_at)",
        # ON DELETE CASCADE: erasing a submission (retention, a GDPR request)
        # takes its file rows, jobs and idempotency key with it.
        """CREATE TABLE IF NOT EXISTS submission_files (
            reference     TEXT NOT NULL REFERENCES submissions (reference) ON DELETE CASCADE,
            position      INTEGER NOT NULL,
            field         TEXT NOT NULL,
            name          TEXT NOT NULL,
            content_type  TEXT NOT NULL,
            size          INTEGER NOT NULL CHECK (size >= 0),
            path          TEXT NOT NULL,
            PRIMARY KEY (reference, position)
        )""",
        """CREATE TABLE IF NOT EXISTS outbox (
            id               INTEGER PRIMARY KEY,
            reference        TEXT NOT NULL REFERENCES submissions (reference) ON DELETE CASCADE,
            target           TEXT NOT NULL,
            status           TEXT NOT NULL DEFAULT 'pending',
            attempts         INTEGER NOT NULL DEFAULT 0,
            next_attempt_at  TEXT NOT NULL,
            last_error       TEXT,
            created_at       TEXT NOT NULL,
            updated_at       TEXT NOT NULL,
            UNIQUE (reference, target)
        )""",
        # The worker's question: which jobs are pending and due?
        "CREATE INDEX IF NOT EXISTS outbox_due ON outbox (status, next_attempt_at)",
        """CREATE TABLE IF NOT EXISTS idempotency_keys (
            form             TEXT NOT NULL,
            idempotency_key  TEXT NOT NULL,
            reference        TEXT NOT NULL REFERENCES submissions (reference) ON DELETE CASCADE,
            created_at       TEXT NOT NULL,
            PRIMARY KEY (form, idempotency_key)
        )""",
        "CREATE INDEX IF NOT EXISTS idempotency_keys_by_reference ON idempotency_keys (reference)",
    ),
    # 2: jobs are claimed by workers for a lease, and remember their delivery.
    (
        "ALTER TABLE outbox ADD COLUMN claimed_by TEXT",
        "ALTER TABLE outbox ADD COLUMN lease_until TEXT",
        "ALTER TABLE outbox ADD COLUMN delivered_at TEXT",
        "ALTER TABLE outbox ADD COLUMN receipt TEXT",
        # claim() looks up the pending and the claimed jobs, in id order, so
        # it never reads the delivered and dead ones (nearly all, over time);
        # operators list jobs by state (``intakeforms outbox list``).
        "CREATE INDEX IF NOT EXISTS outbox_by_status ON outbox (status, id)",
        # Superseded by the one above.
        "DROP INDEX IF EXISTS outbox_due",
    ),
    # 3: a delivered confirmation to a customer (the autoreply job) records
    # whom it went to, hashed, so a worker can cap confirmations per address.
    (
        "ALTER TABLE outbox ADD COLUMN recipient_hash TEXT",
        # count_autoreplies(): one address's confirmations since a moment. The
        # other jobs (nearly all) have no recipient and stay out of the index.
        "CREATE INDEX IF NOT EXISTS outbox_by_recipient ON outbox (recipient_hash, delivered_at)"
        " WHERE recipient_hash IS NOT NULL",
    ),
    # 4: spam review, erasure, retention, shared rate limits, a write probe.
    (
        # Why a submission was quarantined, for ``intakeforms spam list``.
        "ALTER TABLE submissions ADD COLUMN spam_reason TEXT NOT NULL DEFAULT ''",
        # When its answers were erased (a privacy request or retention).
        "ALTER TABLE submissions ADD COLUMN erased_at TEXT",
        # The quarantine, newest first; and purge's old spam.
        "CREATE INDEX IF NOT EXISTS submissions_spam ON submissions (submitted_at) WHERE spam = 1",
        # purge(): the oldest submissions still holding answers, and those
        # still holding a client address. Erased and cleared rows leave these
        # indexes, so they stay as small as what retention keeps.
        "CREATE INDEX IF NOT EXISTS submissions_kept ON submissions (submitted_at)"
        " WHERE spam = 0 AND erased_at IS NULL",
        "CREATE INDEX IF NOT EXISTS submissions_with_client ON submissions (submitted_at)"
        " WHERE client IS NOT NULL",
        # hit_rate(): one row per hashed key, with the counts of this window
        # and the one before (a sliding window, see rate.py).
        """CREATE TABLE IF NOT EXISTS rate_hits (
            key           TEXT PRIMARY KEY,
            window_start  INTEGER NOT NULL,
            this_count    INTEGER NOT NULL,
            last_count    INTEGER NOT NULL,
            allowed       INTEGER NOT NULL,
            expires_at    REAL NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS rate_hits_expiry ON rate_hits (expires_at)",
        # check(): one row rewritten to prove the file can be written.
        """CREATE TABLE IF NOT EXISTS store_health (
            one         INTEGER PRIMARY KEY CHECK (one = 1),
            checked_at  TEXT NOT NULL
        )""",
    ),
    # 5: what the agent should know beside the answers, and FAQ searches with
    # what came of them.
    (
        # JSON text, or NULL when there is nothing (and after an erasure).
        "ALTER TABLE submissions ADD COLUMN context TEXT",
        # query_key is the query as gaps are grouped (casefolded, spaces
        # collapsed); both are blanked to '' by retention, the rest stays.
        """CREATE TABLE IF NOT EXISTS faq_searches (
            id            TEXT PRIMARY KEY,
            language      TEXT NOT NULL,
            form          TEXT,
            channel       TEXT NOT NULL,
            query         TEXT NOT NULL,
            query_key     TEXT NOT NULL,
            results       TEXT NOT NULL,
            result_count  INTEGER NOT NULL CHECK (result_count >= 0),
            top_score     REAL,
            searched_at   TEXT NOT NULL
        )""",
        # faq_counts() and faq_gaps(): the searches of a period, of one form or all.
        "CREATE INDEX IF NOT EXISTS faq_searches_by_time ON faq_searches (searched_at)",
        "CREATE INDEX IF NOT EXISTS faq_searches_by_form ON faq_searches (form, searched_at)",
        # purge(): the searches still holding query text; blanked ones leave it.
        "CREATE INDEX IF NOT EXISTS faq_searches_with_text ON faq_searches (searched_at)"
        " WHERE query <> ''",
        """CREATE TABLE IF NOT EXISTS faq_events (
            id           INTEGER PRIMARY KEY,
            search       TEXT NOT NULL REFERENCES faq_searches (id) ON DELETE CASCADE,
            entry        TEXT,
            event        TEXT NOT NULL
                         CHECK (event IN ('opened', 'helpful', 'not_helpful', 'continued')),
            happened_at  TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS faq_events_by_search ON faq_events (search, event)",
    ),
    # 6: continuity: single-use links, drafts to continue later, and the
    # customer's contact keys for the history of earlier contacts.
    (
        # record_link_use(): a single-use link's id (jti) and the first
        # submission it was used for. No foreign key: the link stays used
        # after its submission is erased or deleted as spam.
        """CREATE TABLE IF NOT EXISTS link_uses (
            jti        TEXT PRIMARY KEY,
            form       TEXT NOT NULL,
            reference  TEXT NOT NULL,
            used_at    TEXT NOT NULL
        )""",
        # A customer's unfinished answers, kept until submitted or expired
        # (7 days at most). email_key is the address casefolded, for finding
        # one customer's drafts (privacy requests).
        """CREATE TABLE IF NOT EXISTS drafts (
            id                  TEXT PRIMARY KEY,
            form                TEXT NOT NULL,
            locale              TEXT NOT NULL,
            data                TEXT NOT NULL,
            email               TEXT NOT NULL,
            email_key           TEXT NOT NULL,
            created_at          TEXT NOT NULL,
            expires_at          TEXT NOT NULL,
            mail_sent_at        TEXT,
            mail_attempts       INTEGER NOT NULL DEFAULT 0,
            mail_claimed_until  TEXT
        )""",
        # purge(): the expired drafts; drafts_of() and erase_drafts(): one address's.
        "CREATE INDEX IF NOT EXISTS drafts_by_expiry ON drafts (expires_at)",
        "CREATE INDEX IF NOT EXISTS drafts_by_email ON drafts (email_key)",
        # claim_draft_mails(): the drafts whose mail is not sent yet; sent
        # ones (nearly all) leave the index.
        "CREATE INDEX IF NOT EXISTS drafts_unsent ON drafts (created_at)"
        " WHERE mail_sent_at IS NULL",
        # Normalised-and-hashed email and phone keys of a submission (never
        # the address), for earlier_contacts(); gone with its erasure.
        """CREATE TABLE IF NOT EXISTS submission_contacts (
            reference  TEXT NOT NULL REFERENCES submissions (reference) ON DELETE CASCADE,
            key        TEXT NOT NULL,
            PRIMARY KEY (reference, key)
        ) WITHOUT ROWID""",
        "CREATE INDEX IF NOT EXISTS submission_contacts_by_key"
        " ON submission_contacts (key, reference)",
    ),
    # 7: what visitors did on the forms (no person, no client), for the
    # statistics; retention deletes them after INTAKE_EVENT_RETENTION_DAYS.
    (
        """CREATE TABLE IF NOT EXISTS events (
            id           INTEGER PRIMARY KEY,
            session      TEXT NOT NULL,
            form         TEXT NOT NULL,
            channel      TEXT NOT NULL CHECK (channel IN ('form', 'chat', 'inline')),
            event        TEXT NOT NULL
                         CHECK (event IN ('view', 'start', 'answer', 'error', 'submit', 'abandon')),
            field        TEXT,
            code         TEXT,
            happened_at  TEXT NOT NULL
        )""",
        # The statistics of one form over a period; purge(): the oldest events.
        "CREATE INDEX IF NOT EXISTS events_by_form ON events (form, happened_at)",
        "CREATE INDEX IF NOT EXISTS events_by_time ON events (happened_at)",
    ),
    # Staff who sign in to the staff pages, their sessions (kept as the
    # token's SHA-256 only) and the log of what they did (see staff.py).
    (
        """CREATE TABLE IF NOT EXISTS staff (
            name           TEXT PRIMARY KEY,
            password_hash  TEXT NOT NULL,
            created_at     TEXT NOT NULL,
            last_login_at  TEXT
        )""",
        # No foreign key: a session counts only while its account exists
        # (staff_session() joins them), and removing one deletes its sessions.
        """CREATE TABLE IF NOT EXISTS staff_sessions (
            token_hash  TEXT PRIMARY KEY,
            staff       TEXT NOT NULL,
            csrf        TEXT NOT NULL,
            created_at  TEXT NOT NULL,
            expires_at  TEXT NOT NULL,
            ends_at     TEXT NOT NULL
        ) WITHOUT ROWID""",
        # purge(): the expired sessions; remove_staff(): one account's.
        "CREATE INDEX IF NOT EXISTS staff_sessions_by_expiry ON staff_sessions (expires_at)",
        "CREATE INDEX IF NOT EXISTS staff_sessions_by_staff ON staff_sessions (staff)",
        # The staff's inbox, newest first over every form (find_submissions).
        "CREATE INDEX IF NOT EXISTS submissions_newest ON submissions (submitted_at, reference)",
        # Kept for good, and after the account it names is removed.
        """CREATE TABLE IF NOT EXISTS admin_log (
            id      INTEGER PRIMARY KEY,
            at      TEXT NOT NULL,
            staff   TEXT NOT NULL,
            action  TEXT NOT NULL,
            target  TEXT,
            detail  TEXT
        )""",
    ),
    # The statistics' daily rollups (see rollups.py): what the visits of one
    # form and UTC day added up to, kept for good after the raw events are
    # deleted. stats_days says which days are rolled (also those with no
    # visit); the others hold the counts, a row only where one is not 0.
    (
        """CREATE TABLE IF NOT EXISTS stats_days (
            form       TEXT NOT NULL,
            day        TEXT NOT NULL,
            rolled_at  TEXT NOT NULL,
            PRIMARY KEY (form, day)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS stats_channels (
            form         TEXT NOT NULL,
            day          TEXT NOT NULL,
            channel      TEXT NOT NULL CHECK (channel IN ('form', 'chat', 'inline')),
            views        INTEGER NOT NULL,
            starts       INTEGER NOT NULL,
            submissions  INTEGER NOT NULL,
            PRIMARY KEY (form, day, channel)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS stats_fields (
            form      TEXT NOT NULL,
            day       TEXT NOT NULL,
            field     TEXT NOT NULL,
            answered  INTEGER NOT NULL,
            errors    INTEGER NOT NULL,
            furthest  INTEGER NOT NULL,
            dropped   INTEGER NOT NULL,
            PRIMARY KEY (form, day, field)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS stats_codes (
            form    TEXT NOT NULL,
            day     TEXT NOT NULL,
            field   TEXT NOT NULL,
            code    TEXT NOT NULL,
            errors  INTEGER NOT NULL,
            PRIMARY KEY (form, day, field, code)
        ) WITHOUT ROWID""",
        """CREATE TABLE IF NOT EXISTS stats_times (
            form     TEXT NOT NULL,
            day      TEXT NOT NULL,
            seconds  INTEGER NOT NULL,
            visits   INTEGER NOT NULL,
            PRIMARY KEY (form, day, seconds)
        ) WITHOUT ROWID""",
    ),
    # Events are taken by the thousand a second, and an index costs each one
    # the least when each new entry goes at an end of it. A page sends a
    # visit's events as it ends, so an index by time takes them all over its
    # last minutes; one by form and hour (since 1970, UTC) takes each after
    # the others of its form and hour (ties go in the order rows are
    # written). The figures and retention read a form's hours through it,
    # then look at the time.
    (
        "ALTER TABLE events ADD COLUMN hour INTEGER NOT NULL DEFAULT 0",
        "UPDATE events"
        " SET hour = CAST(strftime('%s', substr(happened_at, 1, 19)) AS INTEGER) / 3600",
        "CREATE INDEX IF NOT EXISTS events_by_hour ON events (form, hour)",
        "DROP INDEX IF EXISTS events_by_form",
        "DROP INDEX IF EXISTS events_by_time",
    ),
    # SQLite checks ``x IN (a list)`` in a CHECK by making the list anew for
    # each row: the events' two such rules cost a row as much as the rest of
    # its insert (2.7 against 1.6 µs measured), the same rules as
    # comparisons nothing that shows. SQLite changes a table's constraints no
    # other way than making it again: its rows (ids, hours) are copied.
    (
        """CREATE TABLE events_next (
            id           INTEGER PRIMARY KEY,
            session      TEXT NOT NULL,
            form         TEXT NOT NULL,
            channel      TEXT NOT NULL
                         CHECK (channel = 'form' OR channel = 'chat' OR channel = 'inline'),
            event        TEXT NOT NULL
                         CHECK (event = 'view' OR event = 'start' OR event = 'answer'
                                OR event = 'error' OR event = 'submit' OR event = 'abandon'),
            field        TEXT,
            code         TEXT,
            happened_at  TEXT NOT NULL,
            hour         INTEGER NOT NULL DEFAULT 0
        )""",
        "INSERT INTO events_next"
        " (id, session, form, channel, event, field, code, happened_at, hour)"
        " SELECT id, session, form, channel, event, field, code, happened_at, hour FROM events",
        "DROP TABLE events",
        "ALTER TABLE events_next RENAME TO events",
        "CREATE INDEX events_by_hour ON events (form, hour)",
    ),
)

#: The schema version this release writes (``PRAGMA user_version``).
SCHEMA_VERSION = len(MIGRATIONS)


def timestamp(moment: dt.datetime) -> str:
    """ISO-8601 UTC text of fixed width, so text order is time order in SQL."""
    if moment.tzinfo is not dt.UTC:
        moment = moment.astimezone(dt.UTC)
    # The text to the second is made once a second: a batch of events holds
    # a few dozen seconds, and isoformat costs twice the rest.
    second = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    text = _SECONDS.get(second)
    if text is None:
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        text = _SECONDS[second] = moment.isoformat(timespec="seconds")[:19] + "."
    return f"{text}{moment.microsecond:06}+00:00"


_SECONDS: dict[tuple[int, ...], str] = {}
_SECONDS_KEPT = 4096


def parse_timestamp(text: str) -> dt.datetime:
    """The aware UTC datetime of a stored time (naive text is taken as UTC)."""
    moment = dt.datetime.fromisoformat(text)
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
