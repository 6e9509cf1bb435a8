-- Speed of the custody API's writes: what a checkout or a return costs beyond its own rows.

-- The value rules get SQL-standard bodies, stored parsed: a table constraint that calls one is
-- inlined for every statement that writes the table, and this spares parsing the body each time.
CREATE OR REPLACE FUNCTION custody.is_office_code(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN value ~ '^[A-Z0-9]{2,8}$';

CREATE OR REPLACE FUNCTION custody.is_label(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN value ~ '^[A-Z0-9][A-Z0-9/-]{0,39}$' AND value !~ '[-/]$';

CREATE OR REPLACE FUNCTION custody.is_login(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN value ~ '^[a-z][a-z0-9_.-]{0,62}$' AND value !~ '^(pg_|custody_)';

CREATE OR REPLACE FUNCTION custody.is_text(value text, max_length integer DEFAULT 2000) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN length(value) BETWEEN 1 AND max_length
     AND btrim(value, E' \t') <> ''
     AND value !~ '[\x01-\x08\x0A-\x1F\x7F-\x9F]';

CREATE OR REPLACE FUNCTION custody.is_email(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN length(value) <= 254 AND value ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$';

-- The API's helpers run inside the API functions' pinned search_path and name every object with
-- its schema, so they need no search_path of their own; setting one costs every call. Staff
-- cannot call them.
ALTER FUNCTION custody.current_staff() RESET search_path;
ALTER FUNCTION custody.has_office_authority(custody.staff, text) RESET search_path;
ALTER FUNCTION custody.require_office_authority(custody.staff, text, text) RESET search_path;
ALTER FUNCTION custody.require_text(text, text, integer) RESET search_path;
ALTER FUNCTION custody.require_label(text, text) RESET search_path;
ALTER FUNCTION custody.require_future(timestamptz, text) RESET search_path;
ALTER FUNCTION custody.lock_file(text) RESET search_path;
ALTER FUNCTION custody.state_phrase(custody.file) RESET search_path;
ALTER FUNCTION custody.refuse(custody.file, text) RESET search_path;
ALTER FUNCTION custody.require_holder_or_office(custody.staff, custody.file, custody.removal, text) RESET search_path;

-- The tally's triggers are made again below.
DROP TRIGGER file_tally ON custody.file;

-- A checkout or a return changes no indexed column of the file, so PostgreSQL updates the row in
-- place on its page (a HOT update) instead of adding an entry to each of the file's indexes.
-- Nothing looks files up by holder (removal_open_by_holder serves "mine"), and offices count
-- their files by office alone. Free space on each page leaves room for the new row versions.
DROP INDEX custody.file_office_status;
DROP INDEX custody.file_holder;
CREATE INDEX file_office ON custody.file (office);
ALTER TABLE custody.file SET (fillfactor = 80);

-- The value rules of the columns every checkout and return writes become domains. A table's
-- check constraints are read from the catalogue and prepared again for each statement that writes
-- it; a domain's are prepared once per session. This rewrites the four tables once.
CREATE DOMAIN custody.label AS text CONSTRAINT label_format CHECK (custody.is_label(VALUE));
COMMENT ON DOMAIN custody.label IS 'A file label or case number.';
CREATE DOMAIN custody.volume AS integer CONSTRAINT volume_range CHECK (VALUE BETWEEN 1 AND 999);
CREATE DOMAIN custody.file_kind AS text CONSTRAINT file_kind_known CHECK (VALUE IN ('file', 'folder'));
CREATE DOMAIN custody.file_status AS text CONSTRAINT file_status_known
  CHECK (VALUE IN ('at_base', 'checked_out', 'in_transit', 'missing', 'destroyed'));
CREATE DOMAIN custody.free_text AS text CONSTRAINT free_text_format CHECK (custody.is_text(VALUE));
COMMENT ON DOMAIN custody.free_text IS 'Whereabouts, reasons and notes: see custody.is_text.';
CREATE DOMAIN custody.removal_end AS text CONSTRAINT removal_end_known CHECK (VALUE IN ('returned', 'missing'));
CREATE DOMAIN custody.event_kind AS text CONSTRAINT event_kind_known CHECK (VALUE IN (
  'office_added', 'staff_added', 'case_opened', 'case_allocated', 'case_classified',
  'child_added', 'case_ended', 'case_closed', 'case_reopened',
  'police_info_added', 'police_info_permitted', 'police_info_destroyed', 'hold_placed', 'hold_released',
  'registered', 'checked_out', 'extended', 'returned', 'dispatched', 'received',
  'transfer_cancelled', 'missing', 'found', 'destroyed'));
GRANT USAGE ON DOMAIN custody.label, custody.volume, custody.file_kind, custody.file_status, custody.free_text,
  custody.removal_end, custody.event_kind TO custody_staff;

ALTER TABLE custody.case_record
  DROP CONSTRAINT case_number_format,
  ALTER COLUMN number TYPE custody.label;
ALTER TABLE custody.file
  DROP CONSTRAINT file_label_format,
  DROP CONSTRAINT file_volume_positive,
  DROP CONSTRAINT file_kind_known,
  DROP CONSTRAINT file_status_known,
  ALTER COLUMN label TYPE custody.label,
  ALTER COLUMN volume TYPE custody.volume,
  ALTER COLUMN kind TYPE custody.file_kind,
  ALTER COLUMN status TYPE custody.file_status;
ALTER TABLE custody.removal
  DROP CONSTRAINT removal_whereabouts_text,
  DROP CONSTRAINT removal_ended_how_known,
  ALTER COLUMN whereabouts TYPE custody.free_text,
  ALTER COLUMN ended_how TYPE custody.removal_end;
ALTER TABLE custody.event
  DROP CONSTRAINT event_kind_known,
  ALTER COLUMN kind TYPE custody.event_kind;

-- The tally no longer moves with checkouts and returns: a checked-out file is counted with the
-- files at its base, and the summary takes the checked-out ones from the open removals.
COMMENT ON TABLE custody.office_tally IS
  'Files per office and custody.tally_status, kept by the file_tally triggers.';

-- The state a file is counted under in the tally.
CREATE FUNCTION custody.tally_status(status text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE status WHEN 'checked_out' THEN 'at_base' ELSE status END;

CREATE OR REPLACE FUNCTION custody.tally_file() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  -- One statement whose rows are locked in key order, so concurrent moves cannot deadlock.
  INSERT INTO custody.office_tally AS t (office, status, files)
  SELECT change.office, change.status, sum(change.delta)
    FROM (SELECT NEW.office, custody.tally_status(NEW.status), 1
          UNION ALL
          SELECT OLD.office, custody.tally_status(OLD.status), -1
           WHERE TG_OP = 'UPDATE') AS change (office, status, delta)
   GROUP BY change.office, change.status
   ORDER BY change.office, change.status
  ON CONFLICT (office, status) DO UPDATE SET files = t.files + excluded.files;
  RETURN NULL;
END
$$;

CREATE TRIGGER file_tally AFTER INSERT ON custody.file
  FOR EACH ROW EXECUTE FUNCTION custody.tally_file();
-- The condition is checked before the trigger is queued, so checkouts and returns skip it.
CREATE TRIGGER file_tally_move AFTER UPDATE OF status, office ON custody.file
  FOR EACH ROW
  WHEN (OLD.office <> NEW.office OR custody.tally_status(OLD.status) <> custody.tally_status(NEW.status))
  EXECUTE FUNCTION custody.tally_file();

TRUNCATE custody.office_tally;
INSERT INTO custody.office_tally (office, status, files)
SELECT f.office, custody.tally_status(f.status), count(*)
  FROM custody.file f
 GROUP BY 1, 2;

-- The summary counts each office's open removals (all of them now, not only the overdue ones)
-- from this index alone: it carries the columns row-level security looks at.
DROP INDEX custody.removal_open_by_office;
CREATE INDEX removal_open_by_office ON custody.removal (office, expected_return) INCLUDE (holder, file_id)
  WHERE ended_at IS NULL;

CREATE OR REPLACE FUNCTION custody.report_summary(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    office text, at_base bigint, checked_out bigint, overdue bigint, in_transit bigint,
    late_transit bigint, missing bigint, closures_overdue bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT o.code,
           coalesce(files.at_base, 0) - coalesce(files.checked_out, removals.out, 0),
           coalesce(files.checked_out, removals.out, 0), coalesce(removals.overdue, 0),
           coalesce(files.in_transit, 0), coalesce(transfers.late, 0), coalesce(files.missing, 0),
           coalesce(closures.overdue, 0)
      FROM custody.office o
      LEFT JOIN (
        -- Those who see every file read the tally, whose at_base includes the checked-out files ...
        SELECT t.office,
               sum(t.files) FILTER (WHERE t.status = 'at_base')::bigint AS at_base,
               NULL::bigint AS checked_out,
               sum(t.files) FILTER (WHERE t.status = 'in_transit')::bigint AS in_transit,
               sum(t.files) FILTER (WHERE t.status = 'missing')::bigint AS missing
          FROM custody.office_tally t
         WHERE (SELECT custody.viewer_sees_all()) AND (office_code IS NULL OR t.office = office_code)
         GROUP BY t.office
        UNION ALL
        -- ... everyone else counts the files they may see.
        SELECT f.office,
               count(*) FILTER (WHERE f.status IN ('at_base', 'checked_out')),
               count(*) FILTER (WHERE f.status = 'checked_out'),
               count(*) FILTER (WHERE f.status = 'in_transit'),
               count(*) FILTER (WHERE f.status = 'missing')
          FROM custody.file f
         WHERE NOT (SELECT custody.viewer_sees_all()) AND (office_code IS NULL OR f.office = office_code)
         GROUP BY f.office) files ON files.office = o.code
      LEFT JOIN (
        SELECT r.office, count(*) AS out, count(*) FILTER (WHERE r.expected_return < as_of) AS overdue
          FROM custody.removal r
         WHERE r.ended_at IS NULL
           AND (office_code IS NULL OR r.office = office_code)
         GROUP BY r.office) removals ON removals.office = o.code
      LEFT JOIN (
        SELECT t.from_office AS office, count(*) AS late
          FROM custody.transfer t
         WHERE t.ended_at IS NULL AND t.expected_by < as_of
           AND (office_code IS NULL OR t.from_office = office_code)
         GROUP BY t.from_office) transfers ON transfers.office = o.code
      LEFT JOIN (
        SELECT c.office, count(*) AS overdue
          FROM custody.case_record c
         WHERE c.ended_on IS NOT NULL AND c.closed_on IS NULL AND c.ended_on + 28 < as_of::date
           AND (office_code IS NULL OR c.office = office_code)
         GROUP BY c.office) closures ON closures.office = o.code
     WHERE office_code IS NULL OR o.code = office_code
     ORDER BY o.code
  $$;

-- Calls with the same request id queue on this lock, so a retry never records twice.
CREATE FUNCTION custody.lock_request(request uuid) RETURNS void
  LANGUAGE sql
  AS $$ SELECT pg_catalog.pg_advisory_xact_lock(1131373620, pg_catalog.hashtext(request::text)) $$;

CREATE OR REPLACE FUNCTION custody.replayed(request uuid, expected_kind text, expected_subject text) RETURNS bigint
  LANGUAGE plpgsql
  AS $$
DECLARE
  earlier custody.event;
BEGIN
  IF request IS NULL THEN
    RAISE EXCEPTION 'a request id is required' USING ERRCODE = 'U0003';
  END IF;
  PERFORM custody.lock_request(request);
  SELECT * INTO earlier FROM custody.event WHERE request_id = request;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF earlier.kind <> expected_kind OR earlier.subject <> expected_subject OR earlier.actor <> session_user THEN
    RAISE EXCEPTION 'request id % was already used for a different command', request
      USING ERRCODE = 'U0003', HINT = 'send a new request id, or leave --request-id out';
  END IF;
  RETURN earlier.id;
END
$$;

-- A checkout takes one statement in the usual case: it locks, changes and records the file if
-- row-level security shows it to the login, the file is at its base, the login is a member of
-- staff and the request id is new. Otherwise it goes the careful way, in the order every command
-- checks (member of staff, replay, values, the file and its state), which says what is wrong or,
-- when the file has come back to its base meanwhile, locks it and checks it out.
CREATE OR REPLACE FUNCTION custody.checkout(request uuid, label text, whereabouts text, return_by timestamptz)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  careful boolean := NOT (request IS NOT NULL AND custody.is_label(checkout.label)
                          AND custody.is_text(checkout.whereabouts) AND return_by > now());
  me custody.staff;
  replay bigint;
  f custody.file;
  removal_id bigint := nextval('custody.removal_id_seq');
  event_id bigint;
BEGIN
  LOOP
    IF careful THEN
      me := custody.current_staff();
      replay := custody.replayed(request, 'checked_out', checkout.label);
      IF replay IS NOT NULL THEN
        RETURN replay;
      END IF;
      PERFORM custody.require_label(checkout.label);
      PERFORM custody.require_text(checkout.whereabouts, 'the whereabouts');
      PERFORM custody.require_future(return_by, 'the return time');
      -- Anyone may check out a file they can see (row-level security decides what that is).
      f := custody.lock_file(checkout.label);
      IF f.status <> 'at_base' THEN
        PERFORM custody.refuse(f, 'only a file at its secure base can be checked out');
      END IF;
    ELSE
      PERFORM custody.lock_request(request);
    END IF;
    WITH moved AS (
      UPDATE custody.file
         SET status = 'checked_out', status_since = now(), open_removal = removal_id, holder = session_user
       WHERE file.label = checkout.label AND file.status = 'at_base'
         AND EXISTS (SELECT FROM custody.staff s WHERE s.login = session_user)
         AND NOT EXISTS (SELECT FROM custody.event e WHERE e.request_id = checkout.request)
      RETURNING file.id, file.label, file.case_id, file.office, file.base
    ), opened AS (
      INSERT INTO custody.removal (id, file_id, office, holder, whereabouts, expected_return)
      OVERRIDING SYSTEM VALUE
      SELECT removal_id, moved.id, moved.office, session_user, checkout.whereabouts, return_by FROM moved
    )
    INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder, whereabouts, expected_at)
    SELECT 'checked_out', request, moved.label, moved.case_id, moved.id, moved.base, session_user,
           checkout.whereabouts, return_by
      FROM moved
    RETURNING id INTO event_id;
    EXIT WHEN event_id IS NOT NULL;
    IF careful THEN
      RAISE EXCEPTION '% was locked at its secure base but not checked out', checkout.label;
    END IF;
    careful := true;
  END LOOP;
  RETURN event_id;
END
$$;

-- A return locks the file through a cursor and changes it WHERE CURRENT OF, which reads no column:
-- the file need not stay visible to the login once returned, as a holder may see it only while
-- holding it (its case made confidential meanwhile, say). In the usual case the cursor also checks
-- membership of staff and the request id, and one statement writes the file, the removal and the
-- event; otherwise the careful way, as for a checkout.
CREATE OR REPLACE FUNCTION custody.return_file(request uuid, label text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  careful boolean := NOT (request IS NOT NULL AND custody.is_label(return_file.label));
  me custody.staff;
  replay bigint;
  f custody.file;
  -- Row-level security decides which file the login may see and so return.
  held CURSOR FOR
    SELECT * FROM custody.file
     WHERE file.label = return_file.label AND file.status = 'checked_out'
       AND EXISTS (SELECT FROM custody.staff s WHERE s.login = session_user)
       AND NOT EXISTS (SELECT FROM custody.event e WHERE e.request_id = return_file.request)
       FOR UPDATE;
  event_id bigint;
BEGIN
  LOOP
    IF careful THEN
      me := custody.current_staff();
      replay := custody.replayed(request, 'returned', return_file.label);
      IF replay IS NOT NULL THEN
        RETURN replay;
      END IF;
      f := custody.lock_file(return_file.label);
      IF f.status <> 'checked_out' THEN
        PERFORM custody.refuse(f, 'only a checked-out file can be returned');
      END IF;
    ELSE
      PERFORM custody.lock_request(request);
    END IF;
    OPEN held;
    FETCH held INTO f;
    EXIT WHEN FOUND;
    CLOSE held;
    IF careful THEN
      RAISE EXCEPTION '% was locked checked out but not returned', return_file.label;
    END IF;
    careful := true;
  END LOOP;
  -- The file carries its open removal's holder.
  IF f.holder <> session_user THEN
    IF NOT careful THEN
      me := custody.current_staff();
    END IF;
    PERFORM custody.require_office_authority(me, f.office, 'return a file on behalf of ' || f.holder);
  END IF;
  WITH moved AS (
    UPDATE custody.file SET status = 'at_base', status_since = now(), open_removal = NULL, holder = NULL
     WHERE CURRENT OF held
  ), closed AS (
    UPDATE custody.removal SET ended_at = now(), ended_by = session_user, ended_how = 'returned'
     WHERE id = f.open_removal
  )
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder)
  VALUES ('returned', request, f.label, f.case_id, f.id, f.base, f.holder)
  RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- Directors are asked about first: their files need no further check, and the owner (who runs
-- migrations and scripts, not the custody API) is the rare case.
CREATE OR REPLACE FUNCTION custody.viewer_sees_all() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (SELECT FROM custody.staff s WHERE s.login = session_user AND s.role = 'director')
      OR custody.session_is_owner();
END
$$;
