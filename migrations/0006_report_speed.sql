-- Speed at national scale (a million files, five million events).

-- Reports are short queries; compiling them with JIT costs more than it saves.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
END
$$;

-- Directors and the owner see every row, and an office's business support and managers every
-- removal of their office, so their policies end before any per-row lookup.
DROP POLICY removal_read ON custody.removal;
CREATE POLICY removal_read ON custody.removal FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR holder = session_user
  OR (office = (SELECT custody.viewer_office()) AND (SELECT custody.viewer_is_office_staff()))
  OR EXISTS (SELECT FROM custody.file f WHERE f.id = removal.file_id)
);

DROP POLICY transfer_read ON custody.transfer;
CREATE POLICY transfer_read ON custody.transfer FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR EXISTS (SELECT FROM custody.file f WHERE f.id = transfer.file_id)
);

DROP POLICY event_read ON custody.event;
CREATE POLICY event_read ON custody.event FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR actor = session_user
  OR CASE
       WHEN file_id IS NOT NULL THEN EXISTS (SELECT FROM custody.file f WHERE f.id = event.file_id)
       WHEN case_id IS NOT NULL THEN EXISTS (SELECT FROM custody.case_record c WHERE c.id = event.case_id)
       ELSE true
     END
);

-- How many files each office has in each state, kept by a trigger on custody.file, so the
-- summary of every office does not count a million rows. Only those who see every file read it;
-- everyone else's summary counts the files they may see.
CREATE TABLE custody.office_tally (
  office text NOT NULL REFERENCES custody.office,
  status text NOT NULL,
  files bigint NOT NULL,
  PRIMARY KEY (office, status)
);
COMMENT ON TABLE custody.office_tally IS 'Files per office and state, kept by the file_tally trigger.';
ALTER TABLE custody.office_tally ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.office_tally FORCE ROW LEVEL SECURITY;
CREATE POLICY office_tally_read ON custody.office_tally FOR SELECT USING ((SELECT custody.viewer_sees_all()));
-- The trigger runs as the owner inside the custody API, on behalf of any member of staff.
CREATE POLICY office_tally_owner_read ON custody.office_tally FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY office_tally_insert ON custody.office_tally FOR INSERT TO CURRENT_USER WITH CHECK (true);
CREATE POLICY office_tally_update ON custody.office_tally FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true);
GRANT SELECT ON custody.office_tally TO custody_staff;

INSERT INTO custody.office_tally (office, status, files)
SELECT f.office, f.status, count(*) FROM custody.file f GROUP BY f.office, f.status;

CREATE FUNCTION custody.tally_file() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.office = OLD.office AND NEW.status = OLD.status THEN
    RETURN NULL;
  END IF;
  -- One statement whose rows are locked in key order, so concurrent moves cannot deadlock.
  INSERT INTO custody.office_tally AS t (office, status, files)
  SELECT change.office, change.status, sum(change.delta)
    FROM (SELECT NEW.office, NEW.status, 1
          UNION ALL
          SELECT OLD.office, OLD.status, -1 WHERE TG_OP = 'UPDATE') AS change (office, status, delta)
   GROUP BY change.office, change.status
   ORDER BY change.office, change.status
  ON CONFLICT (office, status) DO UPDATE SET files = t.files + excluded.files;
  RETURN NULL;
END
$$;

CREATE TRIGGER file_tally AFTER INSERT OR UPDATE OF status, office ON custody.file
  FOR EACH ROW EXECUTE FUNCTION custody.tally_file();

CREATE OR REPLACE FUNCTION custody.report_summary(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    office text, at_base bigint, checked_out bigint, overdue bigint, in_transit bigint,
    late_transit bigint, missing bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT o.code,
           coalesce(files.at_base, 0), coalesce(files.checked_out, 0), coalesce(removals.overdue, 0),
           coalesce(files.in_transit, 0), coalesce(transfers.late, 0), coalesce(files.missing, 0)
      FROM custody.office o
      LEFT JOIN (
        -- Those who see every file read the tally ...
        SELECT t.office,
               sum(t.files) FILTER (WHERE t.status = 'at_base')::bigint AS at_base,
               sum(t.files) FILTER (WHERE t.status = 'checked_out')::bigint AS checked_out,
               sum(t.files) FILTER (WHERE t.status = 'in_transit')::bigint AS in_transit,
               sum(t.files) FILTER (WHERE t.status = 'missing')::bigint AS missing
          FROM custody.office_tally t
         WHERE (SELECT custody.viewer_sees_all()) AND (office_code IS NULL OR t.office = office_code)
         GROUP BY t.office
        UNION ALL
        -- ... everyone else counts the files they may see.
        SELECT f.office,
               count(*) FILTER (WHERE f.status = 'at_base'),
               count(*) FILTER (WHERE f.status = 'checked_out'),
               count(*) FILTER (WHERE f.status = 'in_transit'),
               count(*) FILTER (WHERE f.status = 'missing')
          FROM custody.file f
         WHERE NOT (SELECT custody.viewer_sees_all()) AND (office_code IS NULL OR f.office = office_code)
         GROUP BY f.office) files ON files.office = o.code
      LEFT JOIN (
        SELECT r.office, count(*) AS overdue
          FROM custody.removal r
         WHERE r.ended_at IS NULL AND r.expected_return < as_of
           AND (office_code IS NULL OR r.office = office_code)
         GROUP BY r.office) removals ON removals.office = o.code
      LEFT JOIN (
        SELECT t.from_office AS office, count(*) AS late
          FROM custody.transfer t
         WHERE t.ended_at IS NULL AND t.expected_by < as_of
           AND (office_code IS NULL OR t.from_office = office_code)
         GROUP BY t.from_office) transfers ON transfers.office = o.code
     WHERE office_code IS NULL OR o.code = office_code
     ORDER BY o.code
  $$;
