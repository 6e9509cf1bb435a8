-- Stocktake (policy 4.3: unsecured files are found and secured): a walk of a secure base's cabinets
-- with a scanner. The set of files the record has at the base is frozen when it starts; each scan
-- is kept with what it found. A stocktake changes no file's state; each file seen gets a `seen`
-- event. The functions are custody.stocktake_* in engine/55_stocktake.sql.

ALTER DOMAIN custody.event_kind DROP CONSTRAINT event_kind_known;
ALTER DOMAIN custody.event_kind ADD CONSTRAINT event_kind_known CHECK (VALUE IN (
  'office_added', 'staff_added', 'staff_deactivated', 'staff_changed',
  'case_opened', 'case_allocated', 'case_classified', 'child_added', 'case_ended', 'case_closed', 'case_reopened',
  'police_info_added', 'police_info_permitted', 'police_info_destroyed', 'hold_placed', 'hold_released',
  'registered', 'checked_out', 'extended', 'returned', 'dispatched', 'received',
  'transfer_cancelled', 'missing', 'found', 'destroyed', 'imported', 'seen'));

-- A `seen` event names its stocktake.
ALTER TABLE custody.event ADD COLUMN stocktake_id bigint;

CREATE TABLE custody.stocktake (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The client's id for `stocktake start`; a replay finds this row instead of opening another.
  request_id uuid NOT NULL UNIQUE,
  base text NOT NULL REFERENCES custody.secure_base,
  -- The office of the base, answerable for the stocktake.
  office text NOT NULL REFERENCES custody.office,
  note text,
  started_at timestamptz NOT NULL DEFAULT now(),
  started_by text NOT NULL DEFAULT session_user,
  finished_at timestamptz,
  finished_by text,
  CONSTRAINT stocktake_finish_complete CHECK ((finished_at IS NULL) = (finished_by IS NULL))
);

COMMENT ON TABLE custody.stocktake IS 'A count of what is at a secure base, against what the record says is there.';

CREATE INDEX stocktake_office ON custody.stocktake (office, finished_at);

-- The files the record had at the base (status at_base) when the stocktake started.
CREATE TABLE custody.stocktake_expected (
  stocktake_id bigint NOT NULL REFERENCES custody.stocktake,
  file_id bigint NOT NULL REFERENCES custody.file,
  PRIMARY KEY (stocktake_id, file_id)
);

-- Each distinct text scanned, with what it named: a file the login could see, or nothing (unknown).
CREATE TABLE custody.stocktake_scan (
  stocktake_id bigint NOT NULL REFERENCES custody.stocktake,
  scanned text NOT NULL,
  file_id bigint REFERENCES custody.file,
  at timestamptz NOT NULL DEFAULT now(),
  by text NOT NULL DEFAULT session_user,
  outcome text NOT NULL CONSTRAINT stocktake_scan_outcome_known
    CHECK (outcome IN ('expected', 'out of place', 'unknown')),
  PRIMARY KEY (stocktake_id, scanned)
);

CREATE UNIQUE INDEX stocktake_scan_file ON custody.stocktake_scan (stocktake_id, file_id) WHERE file_id IS NOT NULL;

ALTER TABLE custody.stocktake ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.stocktake FORCE ROW LEVEL SECURITY;
ALTER TABLE custody.stocktake_expected ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.stocktake_expected FORCE ROW LEVEL SECURITY;
ALTER TABLE custody.stocktake_scan ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.stocktake_scan FORCE ROW LEVEL SECURITY;
