//! Numbered migrations. `MIGRATIONS[n]` upgrades schema `n` to `n + 1`,
//! each in its own transaction together with the version bump.

use rusqlite::Connection;

use crate::{Error, Result};

const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the journal.
    r#"
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE mood_scale (
        value INTEGER PRIMARY KEY CHECK (value BETWEEN 1 AND 10),
        label TEXT NOT NULL
    );
    INSERT INTO mood_scale (value, label) VALUES
        (1, 'awful'), (2, 'bad'), (3, 'okay'), (4, 'good'), (5, 'great');

    CREATE TABLE entries (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        written_at INTEGER NOT NULL,          -- Unix milliseconds, UTC
        utc_offset INTEGER NOT NULL,          -- the writer's offset, seconds east
        local_day  TEXT NOT NULL,             -- YYYY-MM-DD in the writer's offset
        updated_at INTEGER NOT NULL,
        mood       INTEGER CHECK (mood BETWEEN 1 AND 10),
        title      TEXT,
        body       TEXT NOT NULL
    );
    CREATE INDEX entries_by_time ON entries (written_at DESC, seq DESC);

    CREATE TABLE tags (
        id   INTEGER PRIMARY KEY,
        kind INTEGER NOT NULL,                -- 0 feeling, 1 activity
        name TEXT NOT NULL COLLATE NOCASE,
        UNIQUE (kind, name)
    );
    CREATE TABLE entry_tags (
        entry    INTEGER NOT NULL REFERENCES entries (seq) ON DELETE CASCADE,
        tag      INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        PRIMARY KEY (entry, tag)
    ) WITHOUT ROWID;
    CREATE INDEX entry_tags_by_tag ON entry_tags (tag, entry);
    "#,
    // 1 -> 2: full-text search, inside the encrypted database.
    // No column sizes: only bm25 needs them, and results come newest first.
    // secure-delete makes a deleted entry leave the index at once,
    // instead of lingering in old segments until a merge.
    r#"
    CREATE VIRTUAL TABLE entries_fts USING fts5 (
        title, body, tags,
        tokenize = 'unicode61 remove_diacritics 2',
        columnsize = 0
    );
    INSERT INTO entries_fts (entries_fts, rank) VALUES ('secure-delete', 1);
    INSERT INTO entries_fts (rowid, title, body, tags)
        SELECT e.seq, coalesce(e.title, ''), e.body,
               coalesce((SELECT group_concat(t.name, ' ')
                         FROM entry_tags et JOIN tags t ON t.id = et.tag
                         WHERE et.entry = e.seq), '')
        FROM entries e;
    "#,
    // 2 -> 3: my keys, comrades, circles, and the envelopes sent and received.
    // Keys are generated in Rust after migrating (see identity::ensure).
    r#"
    CREATE TABLE my_identity (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        signing_key BLOB NOT NULL,            -- Ed25519 secret
        public      BLOB NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE my_encryption_keys (
        seq          INTEGER PRIMARY KEY,
        secret       BLOB NOT NULL,           -- X25519 secret
        public       BLOB NOT NULL UNIQUE,
        self_pair    BLOB NOT NULL,           -- MAC key for my own copies
        created_at   INTEGER NOT NULL,
        retired_at   INTEGER                  -- NULL for the current key
    );
    CREATE UNIQUE INDEX my_current_key ON my_encryption_keys ((retired_at IS NULL))
        WHERE retired_at IS NULL;

    CREATE TABLE comrades (
        seq                 INTEGER PRIMARY KEY,
        id                  TEXT NOT NULL UNIQUE,
        name                TEXT NOT NULL UNIQUE COLLATE NOCASE, -- what I call them
        card                BLOB NOT NULL,    -- their latest card, as they signed it
        identity_key        BLOB NOT NULL UNIQUE,
        encryption_key      BLOB NOT NULL,
        card_issued_at      INTEGER NOT NULL,
        pair_key            BLOB NOT NULL,    -- for my current key and theirs
        verified_key        BLOB,             -- the identity key I verified in person
        blocked             INTEGER NOT NULL DEFAULT 0,
        added_at            INTEGER NOT NULL,
        identity_changed_at INTEGER
    );
    CREATE TABLE circles (
        seq        INTEGER PRIMARY KEY,
        id         TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE circle_members (
        circle  INTEGER NOT NULL REFERENCES circles (seq) ON DELETE CASCADE,
        comrade INTEGER NOT NULL REFERENCES comrades (seq) ON DELETE CASCADE,
        PRIMARY KEY (circle, comrade)
    ) WITHOUT ROWID;

    CREATE TABLE outbox (
        seq        INTEGER PRIMARY KEY,
        message_id BLOB NOT NULL UNIQUE,
        kind       TEXT NOT NULL,
        subject    TEXT,                      -- what it carries, e.g. a journal entry id
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        envelope   BLOB NOT NULL
    );
    CREATE INDEX outbox_by_subject ON outbox (subject) WHERE subject IS NOT NULL;
    -- Names as they were when sent: a removed comrade still shows here.
    CREATE TABLE outbox_recipients (
        message      INTEGER NOT NULL REFERENCES outbox (seq) ON DELETE CASCADE,
        identity_key BLOB NOT NULL,
        name         TEXT NOT NULL,
        PRIMARY KEY (message, identity_key)
    ) WITHOUT ROWID;

    CREATE TABLE inbox (
        seq             INTEGER PRIMARY KEY,
        sender_identity BLOB NOT NULL,
        sender_name     TEXT NOT NULL,
        message_id      BLOB NOT NULL,
        kind            TEXT NOT NULL,
        created_at      INTEGER NOT NULL,
        expires_at      INTEGER,
        received_at     INTEGER NOT NULL,
        body            BLOB NOT NULL,
        UNIQUE (sender_identity, message_id)
    );
    CREATE INDEX inbox_by_kind ON inbox (kind, seq);
    -- Outlives inbox rows, so a replay stays a replay after its content is deleted.
    CREATE TABLE seen_messages (
        sender_identity BLOB NOT NULL,
        message_id      BLOB NOT NULL,
        expires_at      INTEGER,
        PRIMARY KEY (sender_identity, message_id)
    ) WITHOUT ROWID;
    "#,
    // 3 -> 4: gatherings, their single-occurrence changes, and my RSVPs.
    // Times are local wall-clock text (YYYY-MM-DDTHH:MM:SS) in the gathering's zone.
    r#"
    CREATE TABLE gatherings (
        seq         INTEGER PRIMARY KEY,
        id          TEXT NOT NULL UNIQUE,
        uid         TEXT NOT NULL UNIQUE,     -- iCalendar UID: ours, or the one an import brought
        kind        TEXT NOT NULL,
        title       TEXT NOT NULL,
        description TEXT NOT NULL,
        location    TEXT NOT NULL,
        starts_at   TEXT NOT NULL,            -- the first occurrence, normalised to the rule
        time_zone   TEXT NOT NULL,            -- IANA
        duration_s  INTEGER NOT NULL,
        recurrence  TEXT,                     -- RRULE value
        reminders   TEXT NOT NULL,            -- JSON: [{"days": 7, "minutes": 0}, ...]
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    -- Keyed by the rule's local start (RECURRENCE-ID): cancelled, or moved.
    CREATE TABLE gathering_overrides (
        gathering      INTEGER NOT NULL REFERENCES gatherings (seq) ON DELETE CASCADE,
        original_start TEXT NOT NULL,
        cancelled      INTEGER NOT NULL DEFAULT 0,
        moved_to       TEXT,
        duration_s     INTEGER,
        PRIMARY KEY (gathering, original_start)
    ) WITHOUT ROWID;
    CREATE TABLE gathering_rsvps (
        gathering      INTEGER NOT NULL REFERENCES gatherings (seq) ON DELETE CASCADE,
        original_start TEXT NOT NULL,
        response       INTEGER,               -- 0 going, 1 maybe, 2 not going
        note           TEXT,
        PRIMARY KEY (gathering, original_start)
    ) WITHOUT ROWID;
    "#,
    // 4 -> 5: care requests, their offers, and messages waiting for their request.
    // Every vault that knows a request keeps its own copy; the requester's
    // revision orders status changes. `expired` is never stored: it is an
    // open request past its expiry.
    r#"
    CREATE TABLE care_requests (
        seq            INTEGER PRIMARY KEY,
        id             BLOB NOT NULL UNIQUE,  -- the same in every vault
        requester      BLOB,                  -- identity key; NULL when I asked
        requester_name TEXT,                  -- as they were called when it arrived
        category       TEXT NOT NULL,
        title          TEXT NOT NULL,
        details        TEXT NOT NULL,
        urgency        INTEGER NOT NULL,      -- 0 now, 1 today, 2 this week, 3 flexible
        needed_by      INTEGER,
        expires_at     INTEGER NOT NULL,
        location       TEXT,
        on_behalf_of   TEXT,
        posted_at      INTEGER NOT NULL,
        status         INTEGER NOT NULL,      -- 0 open, 1 matched, 2 fulfilled, 3 withdrawn
        rev            INTEGER NOT NULL,
        changed_at     INTEGER NOT NULL,      -- retention counts from here
        accepted_offer BLOB,                  -- requester: the one accepted; helper: mine
        thanks         TEXT
    );
    CREATE INDEX care_could_help ON care_requests (urgency, posted_at)
        WHERE status = 0 AND requester IS NOT NULL;
    CREATE INDEX care_open_by_expiry ON care_requests (expires_at) WHERE status = 0;
    CREATE INDEX care_by_status ON care_requests (status, changed_at);
    -- Whom I asked, to tell them when it changes.
    CREATE TABLE care_audience (
        request      INTEGER NOT NULL REFERENCES care_requests (seq) ON DELETE CASCADE,
        identity_key BLOB NOT NULL,
        PRIMARY KEY (request, identity_key)
    ) WITHOUT ROWID;
    CREATE TABLE care_offers (
        seq         INTEGER PRIMARY KEY,
        id          BLOB NOT NULL UNIQUE,
        request     INTEGER NOT NULL REFERENCES care_requests (seq) ON DELETE CASCADE,
        helper      BLOB,                     -- identity key; NULL when I offered
        helper_name TEXT,
        message     TEXT NOT NULL,
        can_help_at INTEGER,
        made_at     INTEGER NOT NULL,
        withdrawn   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX care_offers_by_request ON care_offers (request);
    CREATE INDEX care_my_offers ON care_offers (request) WHERE helper IS NULL;
    -- Messages about a request that has not arrived yet (relays reorder).
    CREATE TABLE care_parked (
        seq         INTEGER PRIMARY KEY,
        request_id  BLOB NOT NULL,
        sender      BLOB NOT NULL,
        kind        TEXT NOT NULL,
        body        BLOB NOT NULL,
        received_at INTEGER NOT NULL
    );
    CREATE INDEX care_parked_by_request ON care_parked (request_id);
    CREATE INDEX care_parked_by_sender ON care_parked (sender);
    -- External content: the words live only in care_requests. (Not
    -- contentless: secure-delete needs a deleted row's words to erase them.)
    CREATE VIRTUAL TABLE care_fts USING fts5 (
        title, details, location,
        content = 'care_requests', content_rowid = 'seq',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    INSERT INTO care_fts (care_fts, rank) VALUES ('secure-delete', 1);
    "#,
    // 5 -> 6: gatherings shared with invitees. The organiser's vault numbers
    // each state it sends (`rev`); an invitee keeps a read-only copy.
    r#"
    ALTER TABLE gatherings ADD COLUMN organiser BLOB;        -- identity key; NULL when mine
    ALTER TABLE gatherings ADD COLUMN organiser_name TEXT;
    ALTER TABLE gatherings ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE gathering_invitees (
        gathering    INTEGER NOT NULL REFERENCES gatherings (seq) ON DELETE CASCADE,
        identity_key BLOB NOT NULL,
        PRIMARY KEY (gathering, identity_key)
    ) WITHOUT ROWID;
    -- At the organiser: each invitee's latest answer. NULL is "not going":
    -- kept only to order late answers, never shown or counted.
    CREATE TABLE gathering_answers (
        gathering      INTEGER NOT NULL REFERENCES gatherings (seq) ON DELETE CASCADE,
        original_start TEXT NOT NULL,
        identity_key   BLOB NOT NULL,
        response       INTEGER,               -- 0 going, 1 maybe
        answered_at    INTEGER NOT NULL,
        PRIMARY KEY (gathering, original_start, identity_key)
    ) WITHOUT ROWID;
    -- At an invitee: the totals the organiser last sent.
    CREATE TABLE gathering_totals (
        gathering      INTEGER NOT NULL REFERENCES gatherings (seq) ON DELETE CASCADE,
        original_start TEXT NOT NULL,
        going          INTEGER NOT NULL,
        maybe          INTEGER NOT NULL,
        PRIMARY KEY (gathering, original_start)
    ) WITHOUT ROWID;
    "#,
    // 6 -> 7: delivery through relays (docs/delivery.md). Mailbox keys are
    // made in Rust after migrating (identity::mailbox::ensure).
    r#"
    CREATE TABLE mailboxes (
        seq        INTEGER PRIMARY KEY,
        secret     BLOB NOT NULL,
        public     BLOB NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        retired_at INTEGER                  -- NULL for the current one
    );
    CREATE UNIQUE INDEX mailboxes_one_current ON mailboxes (retired_at IS NULL)
        WHERE retired_at IS NULL;
    CREATE TABLE relays (
        url      TEXT PRIMARY KEY,
        added_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    -- Each outbox envelope, per recipient and relay, from its first try.
    CREATE TABLE deliveries (
        outbox      INTEGER NOT NULL REFERENCES outbox (seq) ON DELETE CASCADE,
        recipient   BLOB NOT NULL,          -- identity key
        relay       TEXT NOT NULL,
        sent_at     INTEGER,
        attempts    INTEGER NOT NULL,
        next_try_at INTEGER NOT NULL,
        last_error  TEXT,                   -- the relay's reason, shortened
        PRIMARY KEY (outbox, recipient, relay)
    ) WITHOUT ROWID;
    CREATE TABLE relay_cursors (
        mailbox       INTEGER NOT NULL REFERENCES mailboxes (seq) ON DELETE CASCADE,
        relay         TEXT NOT NULL,
        fetched_until INTEGER NOT NULL,
        PRIMARY KEY (mailbox, relay)
    ) WITHOUT ROWID;
    -- Transport items (Nostr event ids) already taken in.
    CREATE TABLE delivery_seen (
        id      TEXT PRIMARY KEY,
        seen_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX delivery_seen_by_age ON delivery_seen (seen_at);
    "#,
    // Replay records are kept until their envelope can no longer be opened
    // (envelope::prune_replay_records); one without an expiry is kept a
    // year, counted from this upgrade for those already here.
    r#"
    UPDATE seen_messages
       SET expires_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 365 * 86400000
     WHERE expires_at IS NULL;
    CREATE INDEX seen_messages_by_expiry ON seen_messages (expires_at);
    "#,
    // 8 -> 9: weekly mailboxes (docs/delivery.md): a pair with a seed serves a new
    // mailbox each week, each with a cursor of its own. Pairs from before
    // have no seed and are read as they are (week -1).
    r#"
    ALTER TABLE mailboxes ADD COLUMN seed BLOB;
    CREATE TABLE mailbox_cursors (
        mailbox       INTEGER NOT NULL REFERENCES mailboxes (seq) ON DELETE CASCADE,
        week          INTEGER NOT NULL,
        relay         TEXT NOT NULL,
        fetched_until INTEGER NOT NULL,
        PRIMARY KEY (mailbox, week, relay)
    ) WITHOUT ROWID;
    INSERT INTO mailbox_cursors (mailbox, week, relay, fetched_until)
        SELECT mailbox, -1, relay, fetched_until FROM relay_cursors;
    DROP TABLE relay_cursors;
    "#,
    // 9 -> 10: a mailbox pair announced ahead serves from a week's start
    // (identity::mailbox::announce_next); pairs until now served at once.
    // A decoy card update goes to a comrade cut off, who may be gone from
    // comrades: their card is kept with it, until it is pruned. A comrade's
    // replaced key opens envelopes only for a grace (comrades::Known).
    r#"
    ALTER TABLE mailboxes ADD COLUMN serves_from INTEGER NOT NULL DEFAULT 0;
    UPDATE mailboxes SET serves_from = created_at;
    ALTER TABLE outbox ADD COLUMN decoy INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE outbox_recipients ADD COLUMN card BLOB;
    -- The mailbox a copy went to, to send it again if that one no longer
    -- serves; looked up by recipient after each sync that opened their card.
    ALTER TABLE deliveries ADD COLUMN sent_to BLOB;
    CREATE INDEX deliveries_by_recipient ON deliveries (recipient, sent_at);
    -- A comrade's encryption key their newer card replaced, taken for a while.
    ALTER TABLE comrades ADD COLUMN previous_key BLOB;
    ALTER TABLE comrades ADD COLUMN key_replaced_at INTEGER;
    "#,
    // 10 -> 11: card chains (docs/comrade-card.md). My cards as issued, each
    // naming the one before, the last few kept for the digests envelopes
    // carry. Of a comrade: the number of the card I hold (NULL: version 1),
    // the chain hashes I took, and when two of their cards forked. Weekly
    // epoch keys (docs/envelope.md): a comrade's keys replaced within the
    // grace, several now, and the key each outbox copy was sealed to, so a
    // copy to a key replaced before it went out is sealed again.
    r#"
    CREATE TABLE my_cards (
        seq  INTEGER PRIMARY KEY,
        card BLOB NOT NULL
    );
    ALTER TABLE comrades ADD COLUMN card_seq INTEGER;
    ALTER TABLE comrades ADD COLUMN conflict_at INTEGER;
    CREATE TABLE comrade_chain (
        comrade INTEGER NOT NULL REFERENCES comrades (seq) ON DELETE CASCADE,
        seq     INTEGER NOT NULL,
        hash    BLOB NOT NULL,
        PRIMARY KEY (comrade, seq)
    ) WITHOUT ROWID;
    CREATE TABLE comrade_previous_keys (
        comrade     INTEGER NOT NULL REFERENCES comrades (seq) ON DELETE CASCADE,
        key         BLOB NOT NULL,
        replaced_at INTEGER NOT NULL,  -- when the card replacing it was issued
        PRIMARY KEY (comrade, key)
    ) WITHOUT ROWID;
    INSERT INTO comrade_previous_keys (comrade, key, replaced_at)
        SELECT seq, previous_key, key_replaced_at FROM comrades
         WHERE previous_key IS NOT NULL AND key_replaced_at IS NOT NULL;
    ALTER TABLE comrades DROP COLUMN previous_key;
    ALTER TABLE comrades DROP COLUMN key_replaced_at;
    ALTER TABLE outbox_recipients ADD COLUMN sealed_to BLOB;
    -- A member from before: comrades may hold a version 1 card, which the
    -- first chained card must be dated after (identity::card).
    INSERT INTO meta (key, value)
        SELECT 'unchained_card', '1' WHERE EXISTS (SELECT 1 FROM my_identity);
    "#,
    // 11 -> 12: collectives (docs/collective.md). Each one's log of signed
    // changes as they arrived; its state is folded from them. Comrades a
    // collective introduced: by whom, and in which (its name then).
    r#"
    CREATE TABLE collectives (
        seq       INTEGER PRIMARY KEY,
        id        BLOB NOT NULL UNIQUE,
        joined_at INTEGER NOT NULL,
        asked_at  INTEGER                 -- when I last asked a member for changes I missed
    );
    CREATE TABLE collective_changes (
        collective INTEGER NOT NULL REFERENCES collectives (seq) ON DELETE CASCADE,
        author     BLOB NOT NULL,
        seq        INTEGER NOT NULL,
        digest     BLOB NOT NULL,
        change     BLOB NOT NULL,
        PRIMARY KEY (collective, author, seq, digest)
    ) WITHOUT ROWID;
    -- Visitor passes I issued, each for one visitor; the collectives I
    -- visit with a pass, and the public face last received.
    CREATE TABLE collective_passes (
        id         BLOB PRIMARY KEY,
        collective INTEGER NOT NULL REFERENCES collectives (seq) ON DELETE CASCADE,
        issued_at  INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        visitor    BLOB,                  -- who came with it
        face_sent  BLOB,                  -- digest of the face last sent to them
        vouches    INTEGER,               -- their progress, as a steward last told
        needed     INTEGER
    ) WITHOUT ROWID;
    -- When I last answered each member's ask: a flood of asks is answered
    -- once an hour.
    CREATE TABLE collective_answers (
        collective  INTEGER NOT NULL REFERENCES collectives (seq) ON DELETE CASCADE,
        asker       BLOB NOT NULL,
        answered_at INTEGER NOT NULL,
        PRIMARY KEY (collective, asker)
    ) WITHOUT ROWID;
    -- At a steward: members' vouches for visitors, private to stewards.
    CREATE TABLE collective_vouches (
        collective INTEGER NOT NULL REFERENCES collectives (seq) ON DELETE CASCADE,
        visitor    BLOB NOT NULL,
        voucher    BLOB NOT NULL,
        card       BLOB NOT NULL,         -- the visitor's, to welcome them
        vouched_at INTEGER NOT NULL,
        PRIMARY KEY (collective, visitor, voucher)
    ) WITHOUT ROWID;
    CREATE TABLE collective_visits (
        seq        INTEGER PRIMARY KEY,
        collective BLOB NOT NULL UNIQUE,
        pass       BLOB NOT NULL,
        host       BLOB NOT NULL,
        name       TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        joined_at  INTEGER NOT NULL,
        face       BLOB                   -- the last face, with my progress
    );
    ALTER TABLE comrades ADD COLUMN introduced_by BLOB;
    ALTER TABLE comrades ADD COLUMN introduced_by_name TEXT;
    ALTER TABLE comrades ADD COLUMN introduced_in TEXT;
    -- Met through a visitor pass: the collective's name, and whether they
    -- are my visitor (0) or my host (1).
    ALTER TABLE comrades ADD COLUMN visit TEXT;
    ALTER TABLE comrades ADD COLUMN visit_role INTEGER;
    "#,
    // 12 -> 13: a token each collective's log takes anew at every change,
    // so a log folded earlier in this unlock is known still to be current.
    r#"
    ALTER TABLE collectives ADD COLUMN log_token INTEGER NOT NULL DEFAULT 0;
    -- Gatherings of a collective (its members invited), and whether
    -- visitors are welcome; at a visitor, a copy their host passed on.
    ALTER TABLE gatherings ADD COLUMN collective BLOB;
    ALTER TABLE gatherings ADD COLUMN visitors_welcome INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE gatherings ADD COLUMN visiting INTEGER NOT NULL DEFAULT 0;
    -- At the organiser: a visitor's answer, as their host passed it on.
    ALTER TABLE gathering_answers ADD COLUMN visitor_name TEXT;
    ALTER TABLE gathering_answers ADD COLUMN visitor_host BLOB;
    -- At a steward: visitors who came to a gathering of the collective, as
    -- its organiser told (a collective's settings may require it).
    CREATE TABLE collective_attended (
        collective INTEGER NOT NULL REFERENCES collectives (seq) ON DELETE CASCADE,
        visitor    BLOB NOT NULL,
        told_by    BLOB NOT NULL,
        at         INTEGER NOT NULL,
        PRIMARY KEY (collective, visitor)
    ) WITHOUT ROWID;
    -- At a host: whether my visitor's vouches wait on a gathering.
    ALTER TABLE collective_passes ADD COLUMN awaiting_gathering INTEGER NOT NULL DEFAULT 0;
    -- At the organiser: a visitor's going answer, once its occurrence
    -- passed, told to the stewards.
    ALTER TABLE gathering_answers ADD COLUMN attendance_told INTEGER NOT NULL DEFAULT 0;
    -- At a host: what each of my visitors was last sent of a gathering.
    CREATE TABLE gathering_visitors (
        gathering INTEGER NOT NULL REFERENCES gatherings (seq) ON DELETE CASCADE,
        visitor   BLOB NOT NULL,
        sent      BLOB NOT NULL,   -- digest of the body
        PRIMARY KEY (gathering, visitor)
    ) WITHOUT ROWID;
    "#,
    // 13 -> 14: post-quantum epochs. Each of my epoch keys' X-Wing seed and
    // public key (none for epochs from before); a comrade's, as their
    // envelopes bring it, since their card holds only its digest.
    r#"
    ALTER TABLE my_encryption_keys ADD COLUMN pq_seed BLOB;
    ALTER TABLE my_encryption_keys ADD COLUMN pq_public BLOB;
    ALTER TABLE comrades ADD COLUMN pq_key BLOB;
    "#,
    // 14 -> 15: recovery keys. The commitment to mine (never the words);
    // when a comrade replaced their identity with theirs, and the
    // identities so replaced, refused from then on.
    r#"
    ALTER TABLE my_identity ADD COLUMN recovery_commitment BLOB;
    ALTER TABLE my_identity ADD COLUMN recovery_set_up_at INTEGER;
    ALTER TABLE comrades ADD COLUMN recovered_at INTEGER;
    CREATE TABLE replaced_identities (
        identity_key BLOB PRIMARY KEY,
        comrade      INTEGER NOT NULL REFERENCES comrades (seq) ON DELETE CASCADE,
        replaced_at  INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 15 -> 16: recovery through comrades. The custodians I chose for my
    // backup key (one share each, never kept here), and the shares I keep
    // for comrades who chose me.
    r#"
    CREATE TABLE custodians (
        identity_key BLOB PRIMARY KEY,
        name         TEXT NOT NULL,
        plan         TEXT NOT NULL,
        sent_at      INTEGER NOT NULL,
        confirmed_at INTEGER
    ) WITHOUT ROWID;
    CREATE TABLE custody_held (
        owner       BLOB PRIMARY KEY,     -- their identity key
        owner_name  TEXT NOT NULL,
        plan        TEXT NOT NULL,
        threshold   INTEGER NOT NULL,
        count       INTEGER NOT NULL,
        recipient   TEXT NOT NULL,        -- what the key opens: age1…
        share       BLOB NOT NULL,
        received_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 16 -> 17: the greeting round. Lines as sealed (the key once
    // released, or mine), and each round once it opened, with its digest.
    r#"
    CREATE TABLE gathering_round_lines (
        gathering      INTEGER NOT NULL REFERENCES gatherings (seq) ON DELETE CASCADE,
        original_start TEXT NOT NULL,
        author         BLOB NOT NULL,     -- their identity key
        author_name    TEXT NOT NULL,
        commitment     BLOB NOT NULL,
        sealed         BLOB NOT NULL,
        line_key       BLOB,
        PRIMARY KEY (gathering, original_start, author)
    ) WITHOUT ROWID;
    CREATE TABLE gathering_rounds (
        gathering      INTEGER NOT NULL REFERENCES gatherings (seq) ON DELETE CASCADE,
        original_start TEXT NOT NULL,
        opened_at      INTEGER NOT NULL,
        digest         BLOB NOT NULL,
        PRIMARY KEY (gathering, original_start)
    ) WITHOUT ROWID;
    "#,
    // 17 -> 18: the collective's pulse. Each pulse, and once decided its
    // totals; while it is counted, the shares a tallier holds and the
    // talliers' lists and sums (deleted with the decision).
    r#"
    CREATE TABLE pulses (
        id          BLOB PRIMARY KEY,
        collective  BLOB NOT NULL,
        started_at  INTEGER NOT NULL,
        closes_at   INTEGER NOT NULL,
        threshold   INTEGER NOT NULL,
        mood_steps  INTEGER NOT NULL,
        talliers    BLOB NOT NULL,        -- their identity keys, 32 bytes each
        answered_at INTEGER,              -- that I answered, never what
        counted_at  INTEGER,
        summed_at   INTEGER,
        outcome     INTEGER,              -- 0 totals, 1 too few, 2 talliers silent, 3 disagree
        answers     INTEGER,
        green       INTEGER,
        yellow      INTEGER,
        red         INTEGER,
        moods       INTEGER,
        mood_sum    INTEGER,
        decided_at  INTEGER
    ) WITHOUT ROWID;
    CREATE INDEX pulses_by_collective ON pulses (collective, started_at);
    CREATE TABLE pulse_shares (
        pulse       BLOB NOT NULL,
        collective  BLOB NOT NULL,
        member      BLOB NOT NULL,
        share       BLOB NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (pulse, member)
    ) WITHOUT ROWID;
    CREATE TABLE pulse_tallies (
        pulse       BLOB NOT NULL,
        collective  BLOB NOT NULL,
        tallier     BLOB NOT NULL,
        stage       INTEGER NOT NULL,     -- 1 its list, 2 its sums
        counted     BLOB NOT NULL,
        sums        BLOB,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (pulse, tallier, stage)
    ) WITHOUT ROWID;
    "#,
];

/// The schema version this build writes and understands.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

pub(crate) fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Refuses a vault from a newer app before anything is written.
pub(crate) fn check_not_newer(conn: &Connection) -> Result<()> {
    let found = version(conn)?;
    if found > CURRENT {
        return Err(Error::SchemaTooNew {
            found,
            supported: CURRENT,
        });
    }
    Ok(())
}

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    migrate_to(conn, CURRENT)
}

/// An in-memory database migrated to schema `v`, for the tests of the
/// modules that own its tables.
#[cfg(test)]
pub(crate) fn at_version(v: i64) -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    migrate_to(&mut conn, v).unwrap();
    assert_eq!(version(&conn).unwrap(), v);
    conn
}

/// Each step in its own write transaction, reading the version inside it:
/// another process opening the same vault waits, then finds it done.
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<()> {
    check_not_newer(conn)?;
    loop {
        let tx = super::connection::write_transaction(conn)?;
        let step = version(&tx)?;
        if step >= target {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[step as usize])?;
        tx.pragma_update(None, "user_version", step + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_empty_to_1_makes_the_journal_with_the_default_scale() {
        let conn = at_version(1);
        let labels: Vec<String> = conn
            .prepare("SELECT label FROM mood_scale ORDER BY value")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(labels, ["awful", "bad", "okay", "good", "great"]);
    }

    #[test]
    fn from_1_to_2_indexes_existing_entries() {
        let mut conn = at_version(1);
        conn.execute_batch(
            "INSERT INTO entries (seq, id, written_at, utc_offset, local_day, updated_at, mood, title, body)
               VALUES (7, 'a', 0, 0, '1970-01-01', 0, 3, 'Quiet', 'painted a heron');
             INSERT INTO tags (id, kind, name) VALUES (1, 1, 'watercolour');
             INSERT INTO entry_tags (entry, tag, position) VALUES (7, 1, 0);",
        )
        .unwrap();
        migrate_to(&mut conn, 2).unwrap();
        for word in ["heron", "quiet", "watercolour"] {
            let seq: i64 = conn
                .query_row(
                    "SELECT rowid FROM entries_fts WHERE entries_fts MATCH ?1",
                    [word],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(seq, 7, "{word}");
        }
    }

    #[test]
    fn from_2_to_3_keeps_the_journal_and_makes_room_for_keys_and_comrades() {
        let mut conn = at_version(2);
        conn.execute_batch(
            "INSERT INTO entries (seq, id, written_at, utc_offset, local_day, updated_at, body)
               VALUES (1, 'a', 0, 0, '1970-01-01', 0, 'kept');",
        )
        .unwrap();
        migrate_to(&mut conn, 3).unwrap();
        let body: String = conn
            .query_row("SELECT body FROM entries", [], |r| r.get(0))
            .unwrap();
        assert_eq!(body, "kept");
    }

    #[test]
    fn from_4_to_6_keeps_gatherings_and_adds_care_and_invites() {
        let mut conn = at_version(4);
        conn.execute_batch(
            "INSERT INTO gatherings (seq, id, uid, kind, title, description, location, starts_at,
                 time_zone, duration_s, recurrence, reminders, created_at, updated_at)
               VALUES (1, 'g', 'g@tend', 'meeting', 'Plenum', '', '', '2026-12-01T19:00:00',
                 'Europe/Berlin', 5400, NULL, '[]', 0, 0);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let (organiser, rev): (Option<Vec<u8>>, i64) = conn
            .query_row("SELECT organiser, rev FROM gatherings", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            (organiser, rev),
            (None, 0),
            "an old gathering is mine, never sent"
        );
        for table in [
            "care_requests",
            "care_offers",
            "care_parked",
            "gathering_answers",
        ] {
            let n: i64 = conn
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
                .unwrap();
            assert_eq!(n, 0, "{table}");
        }
    }

    #[test]
    fn replay_records_without_an_expiry_are_kept_a_year_from_the_upgrade() {
        let mut conn = at_version(7);
        conn.execute_batch(
            "INSERT INTO seen_messages (sender_identity, message_id, expires_at)
               VALUES (x'01', x'0a', NULL), (x'01', x'0b', 5);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let kept: Vec<i64> = conn
            .prepare("SELECT expires_at FROM seen_messages ORDER BY message_id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let year_from_now = chrono::Utc::now().timestamp_millis() + 365 * 86_400_000;
        assert!((kept[0] - year_from_now).abs() < 60_000, "{kept:?}");
        assert_eq!(kept[1], 5);
    }

    #[test]
    fn cursors_of_mailboxes_from_before_weeks_are_kept_as_week_minus_one() {
        let mut conn = at_version(8);
        conn.execute_batch(
            "INSERT INTO mailboxes (seq, secret, public, created_at) VALUES (1, x'01', x'02', 7);
             INSERT INTO relay_cursors (mailbox, relay, fetched_until) VALUES (1, 'ws://r', 42);",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let kept: (i64, i64, Option<Vec<u8>>, i64) = conn
            .query_row(
                "SELECT week, fetched_until, seed, serves_from FROM mailbox_cursors
                 JOIN mailboxes ON mailboxes.seq = mailbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            kept,
            (-1, 42, None, 7),
            "an old pair has no seed, keeps its cursor and served from when it was made"
        );
    }

    #[test]
    fn a_failing_migration_leaves_the_previous_version() {
        let mut conn = at_version(1);
        conn.execute_batch("CREATE TABLE entries_fts (x)").unwrap();
        assert!(migrate(&mut conn).is_err());
        assert_eq!(version(&conn).unwrap(), 1);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = at_version(CURRENT);
        conn.pragma_update(None, "user_version", CURRENT + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(Error::SchemaTooNew { found, .. }) if found == CURRENT + 1
        ));
    }
}
