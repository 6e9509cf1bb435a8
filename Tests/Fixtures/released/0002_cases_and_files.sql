-- Cases, their physical files (one row per volume), removals, transfers and the custody record.
-- Only the custody API (0003) writes these tables.

CREATE TABLE custody.case_record (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  number text NOT NULL UNIQUE CONSTRAINT case_number_format CHECK (custody.is_label(number)),
  office text NOT NULL REFERENCES custody.office,
  law text NOT NULL CONSTRAINT case_law_known CHECK (law IN ('private', 'public', 'adoption')),
  classification text NOT NULL DEFAULT 'restricted'
    CONSTRAINT case_classification_known CHECK (classification IN ('restricted', 'confidential')),
  -- The allocated practitioner, if any.
  practitioner text REFERENCES custody.staff,
  opened_at timestamptz NOT NULL DEFAULT now(),
  opened_by text NOT NULL DEFAULT session_user
);
COMMENT ON TABLE custody.case_record IS 'A case; its paper file is one or more volumes in custody.file.';
CREATE INDEX case_record_office ON custody.case_record (office);
CREATE INDEX case_record_practitioner ON custody.case_record (practitioner);

-- Children are known by date of birth only: the record keeps no names.
CREATE TABLE custody.case_child (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id bigint NOT NULL REFERENCES custody.case_record,
  born date NOT NULL
);
CREATE INDEX case_child_case ON custody.case_child (case_id);

CREATE TABLE custody.file (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  label text NOT NULL UNIQUE CONSTRAINT file_label_format CHECK (custody.is_label(label)),
  case_id bigint NOT NULL REFERENCES custody.case_record,
  volume integer NOT NULL CONSTRAINT file_volume_positive CHECK (volume BETWEEN 1 AND 999),
  kind text NOT NULL DEFAULT 'file' CONSTRAINT file_kind_known CHECK (kind IN ('file', 'folder')),
  status text NOT NULL DEFAULT 'at_base' CONSTRAINT file_status_known
    CHECK (status IN ('at_base', 'checked_out', 'in_transit', 'missing', 'destroyed')),
  -- The secure base the file belongs to; while in transit, the one it left.
  base text NOT NULL REFERENCES custody.secure_base,
  -- The office answerable for the file: the office of its secure base.
  office text NOT NULL REFERENCES custody.office,
  status_since timestamptz NOT NULL DEFAULT now(),
  open_removal bigint,
  open_transfer bigint,
  -- Copies kept by the custody API so row-level security can decide on the row alone:
  -- the open removal's holder, the open transfer's destination, and the case's
  -- classification and allocated practitioner.
  holder text REFERENCES custody.staff,
  destination text REFERENCES custody.secure_base,
  confidential boolean NOT NULL DEFAULT false,
  practitioner text REFERENCES custody.staff,
  registered_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT file_volume_unique UNIQUE (case_id, volume),
  CONSTRAINT file_removal_matches_status
    CHECK ((status = 'checked_out') = (open_removal IS NOT NULL) AND (open_removal IS NULL) = (holder IS NULL)),
  CONSTRAINT file_transfer_matches_status
    CHECK ((status = 'in_transit') = (open_transfer IS NOT NULL) AND (open_transfer IS NULL) = (destination IS NULL))
);
COMMENT ON TABLE custody.file IS 'One physical volume of a case file and its current custody state.';
CREATE INDEX file_case ON custody.file (case_id);
CREATE INDEX file_office_status ON custody.file (office, status);
CREATE INDEX file_base ON custody.file (base);
CREATE INDEX file_holder ON custody.file (holder) WHERE holder IS NOT NULL;
CREATE INDEX file_destination ON custody.file (destination) WHERE destination IS NOT NULL;
CREATE INDEX file_practitioner ON custody.file (practitioner) WHERE practitioner IS NOT NULL;

-- A removal notice: the file is out with a named person, at stated whereabouts, due back.
CREATE TABLE custody.removal (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  file_id bigint NOT NULL REFERENCES custody.file,
  office text NOT NULL REFERENCES custody.office,
  holder text NOT NULL REFERENCES custody.staff,
  whereabouts text NOT NULL CONSTRAINT removal_whereabouts_text CHECK (custody.is_text(whereabouts)),
  out_at timestamptz NOT NULL DEFAULT now(),
  expected_return timestamptz NOT NULL,
  ended_at timestamptz,
  ended_by text,
  ended_how text CONSTRAINT removal_ended_how_known CHECK (ended_how IN ('returned', 'missing')),
  CONSTRAINT removal_end_complete CHECK ((ended_at IS NULL) = (ended_how IS NULL))
);
CREATE UNIQUE INDEX removal_one_open_per_file ON custody.removal (file_id) WHERE ended_at IS NULL;
CREATE INDEX removal_open_by_office ON custody.removal (office, expected_return) WHERE ended_at IS NULL;
CREATE INDEX removal_open_by_holder ON custody.removal (holder) WHERE ended_at IS NULL;
CREATE INDEX removal_file ON custody.removal (file_id);

-- A transfer between secure bases, by hand or by secure carrier.
CREATE TABLE custody.transfer (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  file_id bigint NOT NULL REFERENCES custody.file,
  from_base text NOT NULL REFERENCES custody.secure_base,
  to_base text NOT NULL REFERENCES custody.secure_base,
  from_office text NOT NULL REFERENCES custody.office,
  to_office text NOT NULL REFERENCES custody.office,
  method text NOT NULL CONSTRAINT transfer_method_known CHECK (method IN ('hand', 'secure-carrier')),
  carrier text CONSTRAINT transfer_carrier_text CHECK (custody.is_text(carrier, 200)),
  reference text CONSTRAINT transfer_reference_text CHECK (custody.is_text(reference, 200)),
  seal text CONSTRAINT transfer_seal_text CHECK (custody.is_text(seal, 200)),
  courier text REFERENCES custody.staff,
  dispatched_at timestamptz NOT NULL DEFAULT now(),
  dispatched_by text NOT NULL DEFAULT session_user,
  expected_by timestamptz NOT NULL,
  ended_at timestamptz,
  ended_by text,
  ended_how text CONSTRAINT transfer_ended_how_known CHECK (ended_how IN ('received', 'cancelled', 'missing')),
  received_seal text,
  seal_discrepancy boolean,
  CONSTRAINT transfer_elsewhere CHECK (from_base <> to_base),
  CONSTRAINT transfer_carrier_named CHECK (method <> 'secure-carrier' OR carrier IS NOT NULL),
  CONSTRAINT transfer_end_complete CHECK ((ended_at IS NULL) = (ended_how IS NULL))
);
CREATE UNIQUE INDEX transfer_one_open_per_file ON custody.transfer (file_id) WHERE ended_at IS NULL;
CREATE INDEX transfer_open_to ON custody.transfer (to_office, expected_by) WHERE ended_at IS NULL;
CREATE INDEX transfer_open_from ON custody.transfer (from_office, expected_by) WHERE ended_at IS NULL;
CREATE INDEX transfer_open_to_base ON custody.transfer (to_base) WHERE ended_at IS NULL;
CREATE INDEX transfer_file ON custody.transfer (file_id);

ALTER TABLE custody.file
  ADD CONSTRAINT file_open_removal_fk FOREIGN KEY (open_removal) REFERENCES custody.removal,
  ADD CONSTRAINT file_open_transfer_fk FOREIGN KEY (open_transfer) REFERENCES custody.transfer;

-- The custody record: one row per change, by the login that made it, never changed or removed.
CREATE TABLE custody.event (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL DEFAULT session_user,
  kind text NOT NULL CONSTRAINT event_kind_known CHECK (kind IN (
    'office_added', 'staff_added', 'case_opened', 'case_allocated', 'case_classified',
    'registered', 'checked_out', 'extended', 'returned', 'dispatched', 'received',
    'transfer_cancelled', 'missing', 'found', 'destroyed')),
  -- The client's id for the command; a replay finds this row instead of recording again.
  request_id uuid NOT NULL UNIQUE,
  -- What the event is about: an office code, a login, a case number or a file label.
  subject text NOT NULL,
  case_id bigint REFERENCES custody.case_record,
  file_id bigint REFERENCES custody.file,
  -- The file's secure base after the event.
  base text,
  holder text,
  whereabouts text,
  -- Expected return (checkout, extend) or expected arrival (dispatch).
  expected_at timestamptz,
  destination text,
  method text,
  carrier text,
  reference text,
  seal text,
  courier text,
  seal_discrepancy boolean,
  -- Reason or note given with the command.
  note text
);
COMMENT ON TABLE custody.event IS 'The append-only custody record.';
CREATE INDEX event_file ON custody.event (file_id, id) WHERE file_id IS NOT NULL;
CREATE INDEX event_case ON custody.event (case_id, id) WHERE case_id IS NOT NULL;

CREATE FUNCTION custody.refuse_event_change() RETURNS trigger
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  RAISE EXCEPTION 'the custody record is append-only: % is not allowed on %', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER event_no_update_or_delete BEFORE UPDATE OR DELETE ON custody.event
  FOR EACH ROW EXECUTE FUNCTION custody.refuse_event_change();
CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON custody.event
  FOR EACH STATEMENT EXECUTE FUNCTION custody.refuse_event_change();
-- The owner keeps INSERT and SELECT only; the triggers stand even if it grants itself more.
REVOKE UPDATE, DELETE, TRUNCATE ON custody.event FROM CURRENT_USER;
