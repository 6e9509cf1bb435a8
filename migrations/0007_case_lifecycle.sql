-- The policy's clocks: closure within 28 days of the end of the work (6.2, 7.1), retention until
-- the youngest child is 22 (8.1), police information for 18 months or to the end of proceedings
-- unless the police permit longer (8.3), holds for reviews (8.2), and cases closed before
-- 1 April 2009 listed for review (9.1). Destruction is an event; nothing is deleted.
-- Released as sha256:832134a94a27fd92d0a5dc8e80a88045fe48f437910a92523eb0e58a3b42e168.
-- Its functions, policies, triggers and grants now live in engine/, each defined once.

ALTER TABLE custody.case_record
  ADD COLUMN ended_on date,
  ADD COLUMN proceedings_ended_on date,
  ADD COLUMN closed_on date,
  ADD CONSTRAINT case_closed_after_end CHECK (closed_on IS NULL OR (ended_on IS NOT NULL AND closed_on >= ended_on)),
  ADD CONSTRAINT case_proceedings_with_end CHECK (proceedings_ended_on IS NULL OR ended_on IS NOT NULL);

CREATE INDEX case_record_closure_due ON custody.case_record (office, ended_on)
  WHERE ended_on IS NOT NULL AND closed_on IS NULL;

CREATE INDEX case_record_closed ON custody.case_record (office, closed_on) WHERE closed_on IS NOT NULL;

ALTER TABLE custody.event
  ADD COLUMN witness text,
  ADD COLUMN certificate text,
  ADD COLUMN on_date date,
  ADD COLUMN item bigint,
  DROP CONSTRAINT event_kind_known,
  ADD CONSTRAINT event_kind_known CHECK (kind IN (
    'office_added', 'staff_added', 'case_opened', 'case_allocated', 'case_classified',
    'child_added', 'case_ended', 'case_closed', 'case_reopened',
    'police_info_added', 'police_info_permitted', 'police_info_destroyed', 'hold_placed', 'hold_released',
    'registered', 'checked_out', 'extended', 'returned', 'dispatched', 'received',
    'transfer_cancelled', 'missing', 'found', 'destroyed'));

-- Police information held on a case's file, with its own clock.
CREATE TABLE custody.police_info (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id bigint NOT NULL REFERENCES custody.case_record,
  received_on date NOT NULL,
  permitted_until date,
  permit_reference text CONSTRAINT police_info_reference_text CHECK (custody.is_text(permit_reference, 200)),
  added_at timestamptz NOT NULL DEFAULT now(),
  added_by text NOT NULL DEFAULT session_user,
  destroyed_at timestamptz,
  destroyed_by text,
  witness text REFERENCES custody.staff,
  CONSTRAINT police_info_permit_complete CHECK ((permitted_until IS NULL) = (permit_reference IS NULL)),
  CONSTRAINT police_info_destruction_complete CHECK ((destroyed_at IS NULL) = (witness IS NULL))
);

CREATE INDEX police_info_case ON custody.police_info (case_id);

CREATE INDEX police_info_held ON custody.police_info (case_id) WHERE destroyed_at IS NULL;

-- A hold (a serious case review, an inquiry, litigation) blocks every destruction on the case.
CREATE TABLE custody.hold (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id bigint NOT NULL REFERENCES custody.case_record,
  reason text NOT NULL CONSTRAINT hold_reason_text CHECK (custody.is_text(reason)),
  placed_at timestamptz NOT NULL DEFAULT now(),
  placed_by text NOT NULL DEFAULT session_user,
  released_at timestamptz,
  released_by text,
  release_reason text CONSTRAINT hold_release_reason_text CHECK (custody.is_text(release_reason)),
  CONSTRAINT hold_release_complete CHECK ((released_at IS NULL) = (release_reason IS NULL))
);

CREATE UNIQUE INDEX hold_one_active_per_case ON custody.hold (case_id) WHERE released_at IS NULL;

ALTER TABLE custody.police_info ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.police_info FORCE ROW LEVEL SECURITY;
ALTER TABLE custody.hold ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.hold FORCE ROW LEVEL SECURITY;
