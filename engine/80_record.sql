-- The record keeps itself: events are never changed or removed, and the tally of files per office
-- and state moves with the files (checked-out files are counted with those at their base, and the
-- summary takes them from the open removals).
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

CREATE OR REPLACE FUNCTION custody.refuse_event_change() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RAISE EXCEPTION 'the custody record is append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

-- The state a file is counted under in the tally.
CREATE OR REPLACE FUNCTION custody.tally_status(status text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE status WHEN 'checked_out' THEN 'at_base' ELSE status END;

CREATE OR REPLACE FUNCTION custody.tally_file() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  -- A file moved between offices or states (new files are counted by tally_added). One statement
  -- whose rows are locked in key order, so concurrent moves cannot deadlock.
  INSERT INTO custody.office_tally AS t (office, status, files)
  SELECT change.office, change.status, sum(change.delta)
    FROM (SELECT NEW.office, custody.tally_status(NEW.status), 1
          UNION ALL
          SELECT OLD.office, custody.tally_status(OLD.status), -1) AS change (office, status, delta)
   GROUP BY change.office, change.status
   ORDER BY change.office, change.status
  ON CONFLICT (office, status) DO UPDATE SET files = t.files + excluded.files;
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION custody.tally_added() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  INSERT INTO custody.office_tally AS t (office, status, files)
  SELECT added.office, custody.tally_status(added.status), count(*)
    FROM added
   GROUP BY 1, 2
   ORDER BY 1, 2
  ON CONFLICT (office, status) DO UPDATE SET files = t.files + excluded.files;
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER event_no_update_or_delete BEFORE UPDATE OR DELETE ON custody.event
  FOR EACH ROW EXECUTE FUNCTION custody.refuse_event_change();
CREATE OR REPLACE TRIGGER event_no_truncate BEFORE TRUNCATE ON custody.event
  FOR EACH STATEMENT EXECUTE FUNCTION custody.refuse_event_change();

-- New files are counted once a statement, so an import of thousands adds to each office's count
-- once rather than once a file.
DROP TRIGGER IF EXISTS file_tally ON custody.file;
CREATE TRIGGER file_tally AFTER INSERT ON custody.file
  REFERENCING NEW TABLE AS added
  FOR EACH STATEMENT EXECUTE FUNCTION custody.tally_added();
-- The condition is checked before the trigger is queued, so checkouts and returns skip it.
CREATE OR REPLACE TRIGGER file_tally_move AFTER UPDATE OF status, office ON custody.file
  FOR EACH ROW
  WHEN (OLD.office <> NEW.office OR custody.tally_status(OLD.status) <> custody.tally_status(NEW.status))
  EXECUTE FUNCTION custody.tally_file();

-- The digest chains (migrations/0020_event_chains.sql). Each event is appended to its chain by one
-- UPDATE of the chain's head, which holds it until the transaction ends: appenders to one chain
-- take turns, so it cannot fork. The UPDATE waits for an append still in progress and then reads
-- the head it left; an event whose id is not above that head's draws another, so id order is chain
-- order within a chain. The first event of a transaction also takes a shared advisory lock on the
-- lowest id it can draw, so that verify knows which ids may still commit (custody.settled_id).
CREATE OR REPLACE FUNCTION custody.event_link() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  chain_key text := custody.event_chain_key(NEW.file_id, NEW.case_id, NEW.subject);
  transaction text := pg_current_xact_id()::text;
  drawn boolean := NEW.id IS NULL;
  ignored text;
BEGIN
  -- Assignments, not PERFORM: PL/pgSQL evaluates a simple expression without starting an executor.
  -- The sequence before its first use has no last value: 0 is below any id.
  IF current_setting('custody.event_floor', true) IS DISTINCT FROM transaction THEN
    ignored := pg_advisory_xact_lock_shared(coalesce(pg_sequence_last_value('custody.event_id_seq'), 0))::text;
    ignored := set_config('custody.event_floor', transaction, true);
  END IF;
  LOOP
    IF drawn THEN
      NEW.id := nextval('custody.event_id_seq');
    END IF;
    UPDATE custody.event_head h
       SET last_id = NEW.id, previous = h.digest, digest = custody.event_digest(h.digest, custody.event_content(NEW))
     WHERE h.chain = chain_key AND h.last_id < NEW.id
    RETURNING h.previous, h.digest INTO NEW.previous, NEW.digest;
    IF FOUND THEN
      RETURN NEW;
    END IF;
    -- No head moved: the chain's first event, unless another append begins it first (this waits
    -- for that append to end), or an append moved the head past this id.
    NEW.previous := ''::bytea;
    NEW.digest := custody.event_digest(NEW.previous, custody.event_content(NEW));
    INSERT INTO custody.event_head (chain, last_id, previous, digest) VALUES (chain_key, NEW.id, NEW.previous, NEW.digest)
    ON CONFLICT (chain) DO NOTHING;
    IF FOUND THEN
      RETURN NEW;
    END IF;
    IF NOT drawn THEN
      RAISE EXCEPTION 'event % is not newer than the newest of its chain (%)', NEW.id, chain_key
        USING ERRCODE = 'check_violation';
    END IF;
  END LOOP;
END
$$;

CREATE OR REPLACE TRIGGER event_link BEFORE INSERT ON custody.event
  FOR EACH ROW EXECUTE FUNCTION custody.event_link();

-- The newest id below which no event can still be committed: the id sequence as it stands, or
-- below the lowest id any transaction in progress may have drawn (the advisory locks that
-- custody.event_link takes). The sequence is read before the locks, so an append that is not yet
-- among them draws above it. Events up to this id, read afterwards, are all there will ever be.
CREATE OR REPLACE FUNCTION custody.settled_id() RETURNS bigint
  LANGUAGE plpgsql VOLATILE
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  drawn bigint;
  floor bigint;
BEGIN
  SELECT s.last_value INTO drawn FROM custody.event_id_seq s;
  SELECT min((l.classid::bigint << 32) | l.objid::bigint) INTO floor
    FROM pg_catalog.pg_locks l
   WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.mode = 'ShareLock'
     AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
     AND ((l.classid::bigint << 32) | l.objid::bigint) <= drawn;
  RETURN least(drawn, floor - 1);
END
$$;

-- What a checkpoint keeps: a digest of every chain as it stood at an id, that is of the digest of
-- each chain's newest event up to it, in the order of the chains' names. Each of those digests
-- depends on every event before it in its chain, so the record up to the id cannot change, nor a
-- chain be removed or added, without changing this. Chains are read from their heads; only those
-- with events after the id are looked up in the events, through the indexes on file, case and subject.
CREATE OR REPLACE FUNCTION custody.record_digest(up_to bigint) RETURNS bytea
  LANGUAGE sql STABLE PARALLEL SAFE
  SET search_path = custody, pg_temp
  RETURN (
    WITH chain AS (
      SELECT h.chain, h.digest FROM custody.event_head h WHERE h.last_id <= up_to
      UNION ALL
      SELECT h.chain, earlier.digest
        FROM custody.event_head h
       CROSS JOIN LATERAL (SELECT e.digest FROM custody.event e
                            WHERE e.file_id = substr(h.chain, 6)::bigint AND e.id <= up_to
                            ORDER BY e.id DESC LIMIT 1) earlier
       WHERE h.last_id > up_to AND h.chain LIKE 'file %'
      UNION ALL
      SELECT h.chain, earlier.digest
        FROM custody.event_head h
       CROSS JOIN LATERAL (SELECT e.digest FROM custody.event e
                            WHERE e.case_id = substr(h.chain, 6)::bigint AND e.file_id IS NULL AND e.id <= up_to
                            ORDER BY e.id DESC LIMIT 1) earlier
       WHERE h.last_id > up_to AND h.chain LIKE 'case %'
      UNION ALL
      SELECT h.chain, earlier.digest
        FROM custody.event_head h
       CROSS JOIN LATERAL (SELECT e.digest FROM custody.event e
                            WHERE e.subject = substr(h.chain, 9) AND e.file_id IS NULL AND e.case_id IS NULL
                              AND e.id <= up_to
                            ORDER BY e.id DESC LIMIT 1) earlier
       WHERE h.last_id > up_to AND h.chain LIKE 'subject %')
    SELECT sha256(coalesce(string_agg(sha256(convert_to(c.chain, 'UTF8') || c.digest), ''::bytea
                                      ORDER BY c.chain COLLATE "C"), ''::bytea))
      FROM chain c);

-- A number from a digest's first 8 bytes, for sums that compare chains without sorting them.
CREATE OR REPLACE FUNCTION custody.digest_number(digest bytea) RETURNS bigint
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN ('x' || encode(substr(digest, 1, 8), 'hex'))::bit(64)::bigint;

-- Every event's digest recomputed, and the sums that link the chains (custody.verify_record), the
-- events' and the heads' in one statement: one snapshot, so that an append committed meanwhile is
-- in both or in neither. A query of its own, run to the end, so that parallel workers share it:
-- PL/pgSQL's SELECT INTO would run it in one process.
DROP FUNCTION IF EXISTS custody.chain_sums();
CREATE FUNCTION custody.chain_sums()
  RETURNS TABLE (events bigint, mismatched bigint, starts bigint, previous_sum numeric, digest_sum numeric,
                 heads bigint, head_sum numeric)
  LANGUAGE sql STABLE
  SET search_path = custody, pg_temp
  AS $$
  SELECT e.*, h.*
    FROM (SELECT count(*),
                 min(e.id) FILTER (WHERE e.digest IS DISTINCT FROM custody.event_digest(e.previous, custody.event_content(e))),
                 count(*) FILTER (WHERE e.previous = ''::bytea),
                 coalesce(sum(custody.digest_number(e.previous)) FILTER (WHERE e.previous <> ''::bytea), 0),
                 coalesce(sum(custody.digest_number(e.digest)), 0)
            FROM custody.event e) e
   CROSS JOIN (SELECT count(*), coalesce(sum(custody.digest_number(h.digest)), 0) FROM custody.event_head h) h
$$;

-- Proves the record. One parallel pass recomputes every event's digest from its content and the
-- digest before it, and sums what links the chains: every event's `previous` and every head's
-- digest, against every event's digest (each is the previous of the next event in its chain, or
-- its chain's head), with one first event per head. Only when something fails are the chains
-- sorted, each in id order, to name the first break: an event that does not match its digest or
-- does not follow the event before it (one changed, removed before it, inserted or moved), a head
-- whose newest event is missing, or an event after its chain's head or in no chain (added behind
-- the triggers). A checkpoint kept from an earlier verify must still match: the record up to it
-- rewritten with digests recomputed. Returns the first break, if any, how many events follow it,
-- and the checkpoint of the record as it is now: the newest settled id and the digest up to it.
-- For the database owner and directors.
DROP FUNCTION IF EXISTS custody.verify_record(bigint, bytea);
CREATE FUNCTION custody.verify_record(checkpoint_id bigint DEFAULT NULL, checkpoint_digest bytea DEFAULT NULL)
  RETURNS TABLE (events bigint, broken_id bigint, broken_kind text, broken_label text, broken_at timestamptz, following bigint,
                 reason text, newest_id bigint, newest_digest bytea)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER
  SET search_path = custody, pg_temp
  SET work_mem = '512MB'
  AS $$
DECLARE
  settled bigint := custody.settled_id();
  mismatched bigint;
  starts bigint;
  previous_sum numeric;
  digest_sum numeric;
  heads bigint;
  head_sum numeric;
BEGIN
  IF NOT (custody.session_is_owner() OR EXISTS (
            SELECT FROM custody.staff s
             WHERE s.login = custody.session_login() AND s.role = 'director' AND s.deactivated_at IS NULL)) THEN
    RAISE EXCEPTION 'only the database owner and directors may verify the record'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT * INTO events, mismatched, starts, previous_sum, digest_sum, heads, head_sum FROM custody.chain_sums();
  IF mismatched IS NOT NULL OR starts <> heads OR previous_sum + head_sum <> digest_sum THEN
    SELECT f.id, f.reason INTO broken_id, reason
      FROM (SELECT c.id, CASE WHEN c.digest IS DISTINCT FROM custody.event_digest(c.previous, c.content)
                              THEN 'does not match its digest'
                              ELSE 'does not follow the event before it in its chain' END
              FROM (SELECT e.id, e.digest, e.previous, custody.event_content(e) AS content,
                           lag(e.digest) OVER (PARTITION BY custody.event_chain_key(e.file_id, e.case_id, e.subject)
                                               ORDER BY e.id) AS before
                      FROM custody.event e) c
             WHERE c.previous IS DISTINCT FROM coalesce(c.before, ''::bytea)
                OR c.digest IS DISTINCT FROM custody.event_digest(c.previous, c.content)
            UNION ALL
            SELECT h.last_id, CASE WHEN EXISTS (SELECT FROM custody.event e WHERE e.id = h.last_id)
                                   THEN 'does not match the head of its chain'
                                   ELSE 'is the newest in its chain, and missing' END
              FROM custody.event_head h
             WHERE NOT EXISTS (SELECT FROM custody.event e WHERE e.id = h.last_id AND e.digest = h.digest)
               AND NOT EXISTS (SELECT FROM custody.event e
                                WHERE custody.event_chain_key(e.file_id, e.case_id, e.subject) = h.chain AND e.id > h.last_id)
            UNION ALL
            SELECT e.id, 'was added to the chain behind its triggers'
              FROM custody.event e
              LEFT JOIN custody.event_head h ON h.chain = custody.event_chain_key(e.file_id, e.case_id, e.subject)
             WHERE h.chain IS NULL OR e.id > h.last_id) f (id, reason)
     ORDER BY f.id
     LIMIT 1;
    IF broken_id IS NULL THEN
      -- The sums disagree and no one event is to blame, such as a head removed with its chain.
      broken_id := (SELECT min(e.id) FROM custody.event e);
      reason := 'begins a record whose chains do not add up';
    END IF;
  ELSIF checkpoint_id IS NOT NULL AND custody.record_digest(checkpoint_id) IS DISTINCT FROM checkpoint_digest THEN
    broken_id := checkpoint_id;
    reason := 'does not match the checkpoint: the record up to it has changed since';
  END IF;
  IF broken_id IS NOT NULL THEN
    SELECT e.kind, f.label, e.at INTO broken_kind, broken_label, broken_at
      FROM custody.event e LEFT JOIN custody.file f ON f.id = e.file_id
     WHERE e.id = broken_id;
    SELECT count(*) INTO following FROM custody.event e WHERE e.id > broken_id;
  ELSE
    SELECT max(e.id) INTO newest_id FROM custody.event e WHERE e.id <= settled;
    IF newest_id IS NOT NULL THEN
      newest_digest := custody.record_digest(newest_id);
    END IF;
  END IF;
  RETURN NEXT;
END
$$;

GRANT EXECUTE ON FUNCTION custody.verify_record(bigint, bytea) TO custody_staff;
