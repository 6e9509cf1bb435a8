-- Leavers and moves of staff, the dispatching office's sight of a receipt, the incidents report's
-- indexes, and free text without bidirectional or line-separator characters.

-- A member of staff who has left: their login can no longer connect or act, and the record keeps
-- who they were, when they left, who said so and why.
ALTER TABLE custody.staff
  ADD COLUMN deactivated_at timestamptz,
  ADD COLUMN deactivated_by text,
  ADD COLUMN deactivation_reason text,
  ADD CONSTRAINT staff_deactivation_complete CHECK (
    (deactivated_at IS NULL) = (deactivated_by IS NULL) AND (deactivated_at IS NULL) = (deactivation_reason IS NULL));

-- A home base closes when its worker becomes office-based; its history stays.
ALTER TABLE custody.secure_base ADD COLUMN closed_at timestamptz;

-- The office that dispatched the file's latest transfer: it keeps seeing the file after receipt,
-- with the receipt, until the file is dispatched again.
ALTER TABLE custody.file ADD COLUMN dispatched_from text REFERENCES custody.office;
COMMENT ON COLUMN custody.file.dispatched_from IS
  'The office that dispatched the file''s latest transfer, kept for row-level security.';
UPDATE custody.file f SET dispatched_from = latest.from_office
  FROM (SELECT DISTINCT ON (t.file_id) t.file_id, t.from_office
          FROM custody.transfer t ORDER BY t.file_id, t.dispatched_at DESC, t.id DESC) latest
 WHERE latest.file_id = f.id;

ALTER DOMAIN custody.event_kind DROP CONSTRAINT event_kind_known;
ALTER DOMAIN custody.event_kind ADD CONSTRAINT event_kind_known CHECK (VALUE IN (
  'office_added', 'staff_added', 'staff_deactivated', 'staff_changed',
  'case_opened', 'case_allocated', 'case_classified', 'child_added', 'case_ended', 'case_closed', 'case_reopened',
  'police_info_added', 'police_info_permitted', 'police_info_destroyed', 'hold_placed', 'hold_released',
  'registered', 'checked_out', 'extended', 'returned', 'dispatched', 'received',
  'transfer_cancelled', 'missing', 'found', 'destroyed'));

-- The incidents report (policy 6.1) reads each kind from its own small index.
CREATE INDEX event_missing ON custody.event (at) WHERE kind = 'missing';
CREATE INDEX removal_late_return ON custody.removal (ended_at)
  WHERE ended_how = 'returned' AND ended_at > expected_return;
CREATE INDEX transfer_receipt_incident ON custody.transfer (ended_at)
  WHERE ended_how = 'received' AND (seal_discrepancy OR ended_at > expected_by);

-- Free text: no bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069),
-- which make a line read other than it is stored, and no line or paragraph separators (U+2028,
-- U+2029), which break a line where none is seen.
CREATE OR REPLACE FUNCTION custody.is_text(value text, max_length integer DEFAULT 2000) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN length(value) BETWEEN 1 AND max_length
     AND btrim(value, E' \t') <> ''
     AND value !~ '[\x01-\x08\x0A-\x1F\x7F-\x9F\u061C\u200E\u200F\u2028-\u202E\u2066-\u2069]';

-- The reports of checked-out files say whether the holder has left: their columns change, so they
-- are dropped here and made again by engine/70_reports.sql.
DROP FUNCTION IF EXISTS custody.report_overdue(text, timestamptz);
DROP FUNCTION IF EXISTS custody.report_out(text, timestamptz);
