-- Speed at national scale (a million files, five million events).

-- Reports are short queries; compiling them with JIT costs more than it saves.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
END
$$;

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
