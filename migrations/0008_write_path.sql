-- Speed of the custody API's writes: what a checkout or a return costs beyond its own rows.
-- Released as sha256:e1d78a6cd6eed1b6a60c701c598169b52b4dbc6fe9ce04da48dc8fb2115b6821.
-- Its functions, policies, triggers and grants now live in engine/, each defined once.

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

TRUNCATE custody.office_tally;

INSERT INTO custody.office_tally (office, status, files)
SELECT f.office, CASE f.status WHEN 'checked_out' THEN 'at_base' ELSE f.status END, count(*)
  FROM custody.file f
 GROUP BY 1, 2;

-- The summary counts each office's open removals (all of them now, not only the overdue ones)
-- from this index alone: it carries the columns row-level security looks at.
DROP INDEX custody.removal_open_by_office;

CREATE INDEX removal_open_by_office ON custody.removal (office, expected_return) INCLUDE (holder, file_id)
  WHERE ended_at IS NULL;
