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
