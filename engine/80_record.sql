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

-- The digest chain (migrations/0019_event_chain.sql). Each INSERT statement on custody.event starts
-- from the chain's head, which its first row locks until the transaction ends: appenders take
-- turns, so the chain cannot fork. Each row draws its id under that lock, so id order is chain
-- order, and links to the row before it; the statement then moves the head to its newest row.
-- custody.event_tip carries the newest row within a statement; it is cleared as each statement
-- starts, so nothing a session sets beforehand is believed.
CREATE OR REPLACE FUNCTION custody.event_chain_start() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  PERFORM set_config('custody.event_tip', '', true);
  RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION custody.event_link() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  tip text := current_setting('custody.event_tip', true);
  previous bytea;
BEGIN
  IF tip IS NULL OR tip = '' THEN
    SELECT c.digest INTO STRICT previous FROM custody.event_chain c FOR UPDATE;
  ELSE
    previous := decode(split_part(tip, ':', 2), 'hex');
  END IF;
  IF NEW.id IS NULL THEN
    NEW.id := nextval('custody.event_id_seq');
  END IF;
  NEW.digest := custody.chain_step(previous, custody.event_content(NEW));
  PERFORM set_config('custody.event_tip', NEW.id::text || ':' || encode(NEW.digest, 'hex'), true);
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION custody.event_chain_end() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  tip text := current_setting('custody.event_tip', true);
BEGIN
  IF tip IS NOT NULL AND tip <> '' THEN
    UPDATE custody.event_chain
       SET last_id = split_part(tip, ':', 1)::bigint, digest = decode(split_part(tip, ':', 2), 'hex');
    PERFORM set_config('custody.event_tip', '', true);
  END IF;
  RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER event_chain_start BEFORE INSERT ON custody.event
  FOR EACH STATEMENT EXECUTE FUNCTION custody.event_chain_start();
CREATE OR REPLACE TRIGGER event_link BEFORE INSERT ON custody.event
  FOR EACH ROW EXECUTE FUNCTION custody.event_link();
CREATE OR REPLACE TRIGGER event_chain_end AFTER INSERT ON custody.event
  FOR EACH STATEMENT EXECUTE FUNCTION custody.event_chain_end();

-- Recomputes every link in one pass over the events in id order. An event whose digest is not
-- sha256(the digest before it || its content) is a break: one changed, removed just before it,
-- inserted, or moved. The head must name the newest event (events removed from the end, or added
-- behind the triggers), and a checkpoint kept from an earlier verify must still match (the
-- record before it rewritten with digests recomputed). Returns the first break, if any, and how
-- many events follow it, with the checkpoint of the record as it is now: the newest event's id
-- and digest. For the database owner and directors.
DROP FUNCTION IF EXISTS custody.verify_record(bigint, bytea);
CREATE FUNCTION custody.verify_record(checkpoint_id bigint DEFAULT NULL, checkpoint_digest bytea DEFAULT NULL)
  RETURNS TABLE (events bigint, broken_id bigint, broken_kind text, broken_label text, broken_at timestamptz, following bigint,
                 reason text, newest_id bigint, newest_digest bytea)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = custody, pg_temp
  -- Read the key in order rather than sort millions of rows.
  SET enable_sort = off
  AS $$
DECLARE
  head custody.event_chain;
BEGIN
  IF NOT (custody.session_is_owner() OR EXISTS (
            SELECT FROM custody.staff s
             WHERE s.login = custody.session_login() AND s.role = 'director' AND s.deactivated_at IS NULL)) THEN
    RAISE EXCEPTION 'only the database owner and directors may verify the record'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  SELECT * INTO head FROM custody.event_chain;
  -- Each content's digest is computed by parallel workers reading the key in order; the links,
  -- in turn, above them.
  SELECT count(*),
         min(links.id) FILTER (
           WHERE links.digest IS DISTINCT FROM custody.chain_link(coalesce(links.previous, ''::bytea), links.content))
    INTO events, broken_id
    FROM (SELECT own.id, own.digest, own.content, lag(own.digest) OVER (ORDER BY own.id) AS previous
            FROM (SELECT e.id, e.digest, custody.content_digest(custody.event_content(e)) AS content
                    FROM custody.event e ORDER BY e.id) own) links;
  SELECT n.id, n.digest INTO newest_id, newest_digest FROM custody.event n ORDER BY n.id DESC LIMIT 1;
  IF broken_id IS NOT NULL THEN
    reason := 'does not match its digest';
  ELSIF head.last_id IS DISTINCT FROM coalesce(newest_id, 0)
        OR head.digest IS DISTINCT FROM coalesce(newest_digest, ''::bytea) THEN
    -- The newest events were removed, or some were added behind the triggers.
    broken_id := CASE WHEN head.last_id > coalesce(newest_id, 0) THEN head.last_id
                      ELSE (SELECT min(e.id) FROM custody.event e WHERE e.id > head.last_id) END;
    reason := CASE WHEN head.last_id > coalesce(newest_id, 0) THEN 'is the newest in the chain, and missing'
                   ELSE 'was added to the chain behind its triggers' END;
  ELSIF checkpoint_id IS NOT NULL
        AND NOT EXISTS (SELECT FROM custody.event e WHERE e.id = checkpoint_id AND e.digest = checkpoint_digest) THEN
    broken_id := checkpoint_id;
    reason := 'does not match the checkpoint: the record up to it has changed since';
  END IF;
  IF broken_id IS NOT NULL THEN
    SELECT e.kind, f.label, e.at INTO broken_kind, broken_label, broken_at
      FROM custody.event e LEFT JOIN custody.file f ON f.id = e.file_id
     WHERE e.id = broken_id;
    SELECT count(*) INTO following FROM custody.event e WHERE e.id > broken_id;
  END IF;
  RETURN NEXT;
END
$$;

GRANT EXECUTE ON FUNCTION custody.verify_record(bigint, bytea) TO custody_staff;
