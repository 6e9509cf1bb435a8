-- Access rules that hold under every install: the structure they need. The custody API's
-- functions and policies that go with them are in engine/.
--
-- Inside the API, what a login sees is decided by the login (session_user) alone: the owner's own
-- read policies on removals, transfers and events, which let every definer function read every
-- row, are gone. The tally keeps its owner policy: only its trigger reads it that way, and it shows
-- nobody anything.
DROP POLICY IF EXISTS removal_api_read ON custody.removal;
DROP POLICY IF EXISTS transfer_api_read ON custody.transfer;
DROP POLICY IF EXISTS event_api_read ON custody.event;

-- A file is seen by the office of its case wherever it is, as by its own office: the volumes of a
-- case stay in the sight of those who answer for it. The API's changes to a case reach every
-- volume through that sight (classification and allocation update each volume's copies), so a
-- volume received at another office is reclassified with its case, and a case closes only when
-- every volume, wherever it is, is at its base.
ALTER TABLE custody.file ADD COLUMN case_office text;
UPDATE custody.file f SET case_office = c.office FROM custody.case_record c WHERE c.id = f.case_id;
ALTER TABLE custody.file
  ALTER COLUMN case_office SET NOT NULL,
  ADD CONSTRAINT file_case_office_fk FOREIGN KEY (case_office) REFERENCES custody.office;
COMMENT ON COLUMN custody.file.case_office IS 'The office of the file''s case, kept for row-level security.';

-- staff_add gains its adopt argument (engine/30_organisation.sql).
DROP FUNCTION IF EXISTS custody.staff_add(uuid, text, text, text, text, text, boolean, text);
