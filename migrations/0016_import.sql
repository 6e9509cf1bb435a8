-- Import (policy 9.2: existing files are continued): an agency's register of cases and volumes,
-- recorded all or nothing by custody.import_register in engine/42_import.sql.

-- Each imported case and file has an `imported` event first.
ALTER DOMAIN custody.event_kind DROP CONSTRAINT event_kind_known;
ALTER DOMAIN custody.event_kind ADD CONSTRAINT event_kind_known CHECK (VALUE IN (
  'office_added', 'staff_added', 'staff_deactivated', 'staff_changed',
  'case_opened', 'case_allocated', 'case_classified', 'child_added', 'case_ended', 'case_closed', 'case_reopened',
  'police_info_added', 'police_info_permitted', 'police_info_destroyed', 'hold_placed', 'hold_released',
  'registered', 'checked_out', 'extended', 'returned', 'dispatched', 'received',
  'transfer_cancelled', 'missing', 'found', 'destroyed', 'imported'));

-- One row of a register as the client read it: its line in the file and every cell as text, so
-- that each cell's problem is named by the same function that applies the rules. The client
-- copies the rows into a temporary table of this type and passes them in one array.
CREATE TYPE custody.import_row AS (
  line integer,
  case_number text,
  office text,
  law text,
  classification text,
  children_born text,
  practitioner text,
  label text,
  volume text,
  kind text,
  status text,
  secure_base text,
  holder text,
  whereabouts text,
  expected_return text
);
