-- Row-level security: whoever connects, with custody or with psql, sees only what their role and
-- office allow. Policies are forced, so they bind the table owner too, and with it every
-- SECURITY DEFINER function of the custody API: a file the login may not see is "not found"
-- inside the API exactly as it is to a SELECT.
--
-- Visibility is decided by session_user (the login), through these functions. Each is used as
-- (SELECT custody.viewer_...()) so it runs once per query, and the row tests stay on the row's
-- own columns, which keeps reports on their indexes. They are PL/pgSQL, whose plans are cached
-- for the session, and SECURITY INVOKER, naming every object with its schema.
CREATE FUNCTION custody.viewer_sees_all() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN custody.session_is_owner()
      OR EXISTS (SELECT FROM custody.staff s WHERE s.login = session_user AND s.role = 'director');
END
$$;

CREATE FUNCTION custody.viewer_office() RETURNS text
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN (SELECT s.office FROM custody.staff s WHERE s.login = session_user);
END
$$;

-- Business support, office managers and service managers see their office's confidential files.
CREATE FUNCTION custody.viewer_is_office_staff() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (
    SELECT FROM custody.staff s
     WHERE s.login = session_user AND s.role IN ('business-support', 'office-manager', 'service-manager'));
END
$$;

GRANT EXECUTE ON FUNCTION custody.viewer_sees_all(), custody.viewer_office(), custody.viewer_is_office_staff(),
  custody.session_is_owner() TO custody_staff;

-- Offices, staff and secure bases are the agency's directory: every member of staff may read it.
CREATE POLICY office_read ON custody.office FOR SELECT USING (true);
CREATE POLICY staff_read ON custody.staff FOR SELECT USING (true);
CREATE POLICY secure_base_read ON custody.secure_base FOR SELECT USING (true);

-- A file: directors (and the database owner) see all; anyone sees a file they hold or whose case
-- is allocated to them; otherwise files of their office and files in transit to their office or
-- home base, where a confidential file is seen only by business support and managers.
CREATE POLICY file_read ON custody.file FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR holder = session_user
  OR practitioner = session_user
  OR ((office = (SELECT custody.viewer_office())
       OR destination = (SELECT custody.viewer_office())
       OR destination = 'home:' || session_user)
      AND (NOT confidential OR (SELECT custody.viewer_is_office_staff())))
);

-- A case: by the same rules as its files, and wherever one of its files is visible.
CREATE POLICY case_read ON custody.case_record FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR practitioner = session_user
  OR (office = (SELECT custody.viewer_office())
      AND (classification = 'restricted' OR (SELECT custody.viewer_is_office_staff())))
  OR EXISTS (SELECT FROM custody.file f WHERE f.case_id = case_record.id)
);

CREATE POLICY case_child_read ON custody.case_child FOR SELECT USING (
  EXISTS (SELECT FROM custody.case_record c WHERE c.id = case_child.case_id)
);

-- Removals and transfers go with their file. Directors see every row, and an office's business
-- support and managers every removal of their office, so their checks end before any lookup.
CREATE POLICY removal_read ON custody.removal FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR holder = session_user
  OR (office = (SELECT custody.viewer_office()) AND (SELECT custody.viewer_is_office_staff()))
  OR EXISTS (SELECT FROM custody.file f WHERE f.id = removal.file_id)
);

CREATE POLICY transfer_read ON custody.transfer FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR EXISTS (SELECT FROM custody.file f WHERE f.id = transfer.file_id)
);

-- Events: your own, those of files and cases you may see, and the directory's (offices, staff).
CREATE POLICY event_read ON custody.event FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR actor = session_user
  OR CASE
       WHEN file_id IS NOT NULL THEN EXISTS (SELECT FROM custody.file f WHERE f.id = event.file_id)
       WHEN case_id IS NOT NULL THEN EXISTS (SELECT FROM custody.case_record c WHERE c.id = event.case_id)
       ELSE true
     END
);

-- Inside the custody API, which runs as the owner, removals, transfers and events are reached only
-- through a file the login may see (locked first, under its policy) or a request id checked
-- against the login, so the owner's reads of them skip the per-row checks above.
CREATE POLICY removal_api_read ON custody.removal FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY transfer_api_read ON custody.transfer FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY event_api_read ON custody.event FOR SELECT TO CURRENT_USER USING (true);

-- Writes: only the owner, which staff reach only through the custody API's functions.
-- There is no DELETE policy: nothing is ever deleted.
DO $$
DECLARE
  agency_table text;
BEGIN
  FOREACH agency_table IN ARRAY ARRAY[
    'office', 'staff', 'secure_base', 'case_record', 'case_child', 'file', 'removal', 'transfer', 'event'
  ] LOOP
    EXECUTE format('ALTER TABLE custody.%I ENABLE ROW LEVEL SECURITY', agency_table);
    EXECUTE format('ALTER TABLE custody.%I FORCE ROW LEVEL SECURITY', agency_table);
    EXECUTE format('CREATE POLICY %I ON custody.%I FOR INSERT TO CURRENT_USER WITH CHECK (true)',
                   agency_table || '_insert', agency_table);
    IF agency_table <> 'event' THEN
      EXECUTE format('CREATE POLICY %I ON custody.%I FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true)',
                     agency_table || '_update', agency_table);
    END IF;
  END LOOP;
END
$$;
