-- Stocktake (policy 4.3): a walk of a secure base's cabinets with a scanner, against what the record
-- says is there. The tables are migrations/0018_stocktake.sql's. A stocktake changes no file's
-- state: what it finds is for people to settle with return, found, missing and receive (a tool that
-- checked a file in because it was scanned would hide exactly the mistakes a stocktake exists to find).
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

-- The stocktake, for those who may hold one: business support, office managers and service managers
-- of its office, and directors. To anyone else it does not exist (U0002), revealing nothing.
CREATE OR REPLACE FUNCTION custody.require_stocktake(me custody.staff, id bigint, for_update boolean DEFAULT false)
  RETURNS custody.stocktake
  LANGUAGE plpgsql
  AS $$
DECLARE
  s custody.stocktake;
BEGIN
  IF for_update THEN
    SELECT * INTO s FROM custody.stocktake WHERE stocktake.id = require_stocktake.id FOR UPDATE;
  ELSE
    SELECT * INTO s FROM custody.stocktake WHERE stocktake.id = require_stocktake.id FOR SHARE;
  END IF;
  IF NOT FOUND OR NOT custody.has_office_authority(me, s.office) THEN
    RAISE EXCEPTION 'no stocktake %', id USING ERRCODE = 'U0002';
  END IF;
  RETURN s;
END
$$;

-- Opens a stocktake of a secure base (an office, or a home base home:LOGIN) and freezes the set of
-- files the record has there now (status at_base). Returns its id; a replay returns the same id.
CREATE OR REPLACE FUNCTION custody.stocktake_start(request uuid, base text, note text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  place custody.secure_base;
  earlier custody.stocktake;
  stocktake_id bigint;
BEGIN
  IF request IS NULL THEN
    RAISE EXCEPTION 'a request id is required' USING ERRCODE = 'U0003';
  END IF;
  PERFORM custody.lock_request(request);
  SELECT * INTO earlier FROM custody.stocktake s WHERE s.request_id = request;
  IF FOUND THEN
    IF earlier.base <> stocktake_start.base OR earlier.started_by <> session_user THEN
      RAISE EXCEPTION 'request id % was already used for a different command', request
        USING ERRCODE = 'U0003', HINT = 'send a new request id, or leave --request-id out';
    END IF;
    RETURN earlier.id;
  END IF;
  IF note IS NOT NULL THEN
    PERFORM custody.require_text(note, 'the note');
  END IF;
  place := custody.require_secure_base(base);
  PERFORM custody.require_office_authority(me, place.office, 'hold a stocktake');
  INSERT INTO custody.stocktake (request_id, base, office, note)
    VALUES (request, place.id, place.office, stocktake_start.note)
    RETURNING id INTO stocktake_id;
  -- As the record has it: every file kept at the base, whoever's case it is.
  INSERT INTO custody.stocktake_expected (stocktake_id, file_id)
    SELECT stocktake_id, f.id FROM custody.file f WHERE f.base = place.id AND f.status = 'at_base';
  RETURN stocktake_id;
END
$$;

-- Records one scanned text and answers at once: expected (in the frozen set), already scanned,
-- out of place (a file the login may see that the record does not have at this base: where the
-- record has it), or unknown (names no file the login may see: a file of another office is unknown
-- to them). Scanning the same text again is harmless. Each file seen gets one `seen` event.
CREATE OR REPLACE FUNCTION custody.stocktake_scan(stocktake bigint, scanned text)
  RETURNS TABLE (outcome text, label text, status text, secure_base text, holder text, destination text)
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  s custody.stocktake := custody.require_stocktake(me, stocktake);
  text_seen text := btrim(scanned, E' \t\r\n');
  f custody.file;
  earlier custody.stocktake_scan;
  found_outcome text;
BEGIN
  IF s.finished_at IS NOT NULL THEN
    RAISE EXCEPTION 'stocktake % was finished on %', s.id, custody.local_time(s.finished_at)
      USING ERRCODE = 'U0001', HINT = 'start another with ''custody stocktake start''';
  END IF;
  IF text_seen IS NULL OR text_seen = '' THEN
    RAISE EXCEPTION 'nothing was scanned' USING ERRCODE = 'U0003';
  END IF;
  -- Row-level security decides which file the login may see: any other is unknown to them.
  SELECT * INTO f FROM custody.file WHERE file.label = text_seen;
  IF NOT FOUND THEN
    found_outcome := 'unknown';
  ELSIF EXISTS (SELECT FROM custody.stocktake_expected x WHERE x.stocktake_id = s.id AND x.file_id = f.id) THEN
    found_outcome := 'expected';
  ELSE
    found_outcome := 'out of place';
  END IF;
  INSERT INTO custody.stocktake_scan (stocktake_id, scanned, file_id, outcome)
    VALUES (s.id, text_seen, f.id, found_outcome)
    ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    SELECT * INTO earlier FROM custody.stocktake_scan x WHERE x.stocktake_id = s.id AND x.scanned = text_seen;
    IF earlier.outcome = 'unknown' THEN
      f := NULL;
    END IF;
    found_outcome := 'already scanned';
  ELSIF f.id IS NOT NULL THEN
    INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder, stocktake_id)
      VALUES ('seen', gen_random_uuid(), f.label, f.case_id, f.id, s.base, f.holder, s.id);
  END IF;
  RETURN QUERY SELECT found_outcome, f.label::text, f.status::text, f.base::text, f.holder::text, f.destination::text;
END
$$;

CREATE OR REPLACE FUNCTION custody.stocktake_finish(stocktake bigint)
  RETURNS void
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  s custody.stocktake := custody.require_stocktake(me, stocktake, true);
BEGIN
  -- Finishing again changes nothing.
  UPDATE custody.stocktake SET finished_at = now(), finished_by = session_user
   WHERE id = s.id AND finished_at IS NULL;
END
$$;

-- The stocktake's totals: how many files the record had at the base, and how many of those were seen.
CREATE OR REPLACE FUNCTION custody.stocktake_summary(stocktake bigint)
  RETURNS TABLE (id bigint, base text, office text, note text, started_at timestamptz, started_by text,
                 finished_at timestamptz, expected integer, seen integer)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  s custody.stocktake := custody.require_stocktake(me, stocktake);
BEGIN
  RETURN QUERY
    SELECT s.id, s.base, s.office, s.note, s.started_at, s.started_by, s.finished_at,
           (SELECT count(*)::integer FROM custody.stocktake_expected x WHERE x.stocktake_id = s.id),
           (SELECT count(*)::integer FROM custody.stocktake_scan c
              JOIN custody.stocktake_expected x ON x.stocktake_id = c.stocktake_id AND x.file_id = c.file_id
             WHERE c.stocktake_id = s.id);
END
$$;

-- What needs a person, in label order: not_seen (recorded at the base, not scanned), out_of_place
-- (scanned, recorded elsewhere: where the record has it now), unknown (scanned text naming no file
-- the login may see).
CREATE OR REPLACE FUNCTION custody.stocktake_findings(stocktake bigint)
  RETURNS TABLE (finding text, label text, case_number text, status text, status_since timestamptz,
                 secure_base text, holder text, destination text)
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  s custody.stocktake := custody.require_stocktake(me, stocktake);
BEGIN
  RETURN QUERY
    SELECT 'not_seen', f.label, c.number, f.status, f.status_since, f.base, f.holder, f.destination
      FROM custody.stocktake_expected x
      JOIN custody.file f ON f.id = x.file_id
      JOIN custody.case_record c ON c.id = f.case_id
     WHERE x.stocktake_id = s.id
       AND NOT EXISTS (SELECT FROM custody.stocktake_scan y WHERE y.stocktake_id = s.id AND y.file_id = x.file_id)
    UNION ALL
    SELECT 'out_of_place', f.label, c.number, f.status, f.status_since, f.base, f.holder, f.destination
      FROM custody.stocktake_scan y
      JOIN custody.file f ON f.id = y.file_id
      JOIN custody.case_record c ON c.id = f.case_id
     WHERE y.stocktake_id = s.id AND y.outcome = 'out of place'
    UNION ALL
    SELECT 'unknown', y.scanned, NULL, NULL, NULL, NULL, NULL, NULL
      FROM custody.stocktake_scan y
     WHERE y.stocktake_id = s.id AND y.outcome = 'unknown'
    ORDER BY 1, 2;
END
$$;

-- Stocktakes and what was scanned: for those who may hold one of that office.
DROP POLICY IF EXISTS stocktake_read ON custody.stocktake;
CREATE POLICY stocktake_read ON custody.stocktake FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR (office = (SELECT custody.viewer_office()) AND (SELECT custody.viewer_is_office_staff()))
);
DROP POLICY IF EXISTS stocktake_expected_read ON custody.stocktake_expected;
CREATE POLICY stocktake_expected_read ON custody.stocktake_expected FOR SELECT USING (
  EXISTS (SELECT FROM custody.stocktake s WHERE s.id = stocktake_expected.stocktake_id)
);
DROP POLICY IF EXISTS stocktake_scan_read ON custody.stocktake_scan;
CREATE POLICY stocktake_scan_read ON custody.stocktake_scan FOR SELECT USING (
  EXISTS (SELECT FROM custody.stocktake s WHERE s.id = stocktake_scan.stocktake_id)
);

GRANT SELECT ON custody.stocktake, custody.stocktake_expected, custody.stocktake_scan TO custody_staff;

GRANT EXECUTE ON FUNCTION
  custody.stocktake_start(uuid, text, text),
  custody.stocktake_scan(bigint, text),
  custody.stocktake_finish(bigint),
  custody.stocktake_summary(bigint),
  custody.stocktake_findings(bigint)
  TO custody_staff;
