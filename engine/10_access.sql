-- Who sees what. Row-level security is forced on every table, so it binds the table owner too,
-- and with it every SECURITY DEFINER function of the custody API: a file the login may not see is
-- "not found" inside the API exactly as it is to a SELECT. Here: the functions the policies ask,
-- the policies, what staff may read and call, and the check that the install is sound.
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

-- The login as text in the database's collation. session_user is of type name, collated "C";
-- compared with a text column of the default collation it cannot use that column's index, so
-- every "login = session_user" would read the whole staff table.
CREATE OR REPLACE FUNCTION custody.session_login() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN (session_user::text COLLATE "default");

-- Visibility is decided by session_user (the login), through the functions below. Each is used as
-- (SELECT custody.viewer_...()) so it runs once per query, and the row tests stay on the row's own
-- columns, which keeps reports on their indexes. They are PL/pgSQL, whose plans are cached for
-- the session, and SECURITY INVOKER, naming every object with its schema.

-- True when the login owns the custody schema (the database owner who migrated it). PL/pgSQL, so
-- its plan is cached for the session: row-level security asks it in every statement.
CREATE OR REPLACE FUNCTION custody.session_is_owner() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN (SELECT pg_catalog.pg_has_role(session_user, n.nspowner, 'MEMBER')
            FROM pg_catalog.pg_namespace n WHERE n.nspname = 'custody');
END
$$;

-- Directors, the database owner and the notifier's logins (which compose every office's messages).
CREATE OR REPLACE FUNCTION custody.viewer_sees_all() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (SELECT FROM custody.staff s
                  WHERE s.login = custody.session_login() AND s.role = 'director' AND s.deactivated_at IS NULL)
      OR custody.session_is_owner()
      OR pg_catalog.pg_has_role(session_user, 'custody_notifier', 'MEMBER');
END
$$;

CREATE OR REPLACE FUNCTION custody.viewer_office() RETURNS text
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN (SELECT s.office FROM custody.staff s WHERE s.login = custody.session_login() AND s.deactivated_at IS NULL);
END
$$;

CREATE OR REPLACE FUNCTION custody.viewer_is_office_staff() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (
    SELECT FROM custody.staff s
     WHERE s.login = custody.session_login() AND s.role IN ('business-support', 'office-manager', 'service-manager')
       AND s.deactivated_at IS NULL);
END
$$;

-- The logins of the staff of the login's office, for its business support and managers (who answer
-- for what their staff hold); otherwise none.
CREATE OR REPLACE FUNCTION custody.viewer_office_logins() RETURNS text[]
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  IF NOT custody.viewer_is_office_staff() THEN
    RETURN '{}';
  END IF;
  RETURN ARRAY(SELECT s.login FROM custody.staff s WHERE s.office = custody.viewer_office());
END
$$;

-- An event is seen with its file or case. The policy asks through these functions, which plan
-- their lookup once per session, instead of carrying the file's and the case's own policies in
-- every statement that reads or appends an event: the custody API's checkout and return read the
-- events (is the request id new?) and append them in every call.
CREATE OR REPLACE FUNCTION custody.sees_file(id bigint) RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (SELECT FROM custody.file f WHERE f.id = sees_file.id);
END
$$;

CREATE OR REPLACE FUNCTION custody.sees_case(id bigint) RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (SELECT FROM custody.case_record c WHERE c.id = sees_case.id);
END
$$;

-- Whether the install is sound, and if not, why: an owner that bypasses row-level security,
-- objects owned by one, a table without forced row-level security, a definer function that
-- anyone may call. An empty list means sound.
CREATE OR REPLACE FUNCTION custody.install_state(OUT owner text, OUT problems text[])
  LANGUAGE sql STABLE
  AS $$
    WITH schema AS (
      SELECT n.oid, r.rolname::text AS owner
        FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
       WHERE n.nspname = 'custody'
    ), bypassing AS (
      SELECT r.oid, r.rolname::text AS name,
             CASE WHEN r.rolsuper THEN 'a superuser' ELSE 'a role with BYPASSRLS' END AS what
        FROM pg_catalog.pg_roles r
       WHERE r.rolsuper OR r.rolbypassrls
    )
    SELECT s.owner, ARRAY(
      SELECT problem FROM (
        SELECT format('the custody schema is owned by %s, %s, so row-level security does not bind the custody API',
                      b.name, b.what) AS problem
          FROM pg_catalog.pg_namespace n JOIN bypassing b ON b.oid = n.nspowner
         WHERE n.oid = s.oid
        UNION ALL
        SELECT format('%s is owned by %s, %s', c.oid::regclass, b.name, b.what)
          FROM pg_catalog.pg_class c JOIN bypassing b ON b.oid = c.relowner
         WHERE c.relnamespace = s.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
        UNION ALL
        SELECT format('function %s is owned by %s, %s', p.oid::regprocedure, b.name, b.what)
          FROM pg_catalog.pg_proc p JOIN bypassing b ON b.oid = p.proowner
         WHERE p.pronamespace = s.oid
        UNION ALL
        SELECT format('table %s does not force row-level security', c.oid::regclass)
          FROM pg_catalog.pg_class c
         WHERE c.relnamespace = s.oid AND c.relkind IN ('r', 'p')
           AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
        UNION ALL
        SELECT format('definer function %s may be called by PUBLIC', p.oid::regprocedure)
          FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = s.oid AND p.prosecdef
           AND (p.proacl IS NULL
                OR EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) a
                            WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
      ) found
      ORDER BY problem)
      FROM schema s
  $$;

GRANT EXECUTE ON FUNCTION
  custody.session_is_owner(),
  custody.viewer_sees_all(),
  custody.viewer_office(),
  custody.viewer_is_office_staff(),
  custody.viewer_office_logins(),
  custody.session_login(),
  custody.sees_file(bigint),
  custody.sees_case(bigint),
  custody.install_state()
  TO custody_staff;

-- Staff reach the schema, read its tables (row-level security narrows what they see) and call the
-- API; they write nothing directly.
REVOKE ALL ON SCHEMA custody FROM PUBLIC;
GRANT USAGE ON SCHEMA custody TO custody_staff;
GRANT SELECT ON custody.office, custody.staff, custody.secure_base, custody.case_record, custody.case_child,
  custody.file, custody.removal, custody.transfer, custody.event, custody.office_tally, custody.police_info,
  custody.hold
  TO custody_staff;
-- The value rules (migrations/0001_organisation.sql) are everyone's to ask.
GRANT EXECUTE ON FUNCTION custody.is_office_code(text), custody.is_label(text), custody.is_login(text),
  custody.is_text(text, integer), custody.is_email(text)
  TO custody_staff;
GRANT USAGE ON DOMAIN custody.label, custody.volume, custody.file_kind, custody.file_status, custody.free_text,
  custody.removal_end, custody.event_kind
  TO custody_staff;
-- The owner keeps INSERT and SELECT on events; the triggers refuse the rest even if it grants itself more.
DO $$
BEGIN
  EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON custody.event FROM %I',
                 (SELECT r.rolname FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
                   WHERE n.nspname = 'custody'));
END
$$;

-- Offices, staff and secure bases are the agency's directory: every member of staff may read it.
DROP POLICY IF EXISTS office_read ON custody.office;
CREATE POLICY office_read ON custody.office FOR SELECT USING (true);
DROP POLICY IF EXISTS staff_read ON custody.staff;
CREATE POLICY staff_read ON custody.staff FOR SELECT USING (true);
DROP POLICY IF EXISTS secure_base_read ON custody.secure_base;
CREATE POLICY secure_base_read ON custody.secure_base FOR SELECT USING (true);

-- A file: directors (and the database owner) see all; anyone sees a file they hold or whose case
-- is allocated to them; otherwise files of their office, every volume of their office's cases
-- wherever it is, files in transit to their office or home base, and files their office dispatched
-- last (in transit, then received elsewhere, until dispatched again), where a confidential file is
-- seen only by business support and managers.
DROP POLICY IF EXISTS file_read ON custody.file;
CREATE POLICY file_read ON custody.file FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR holder = session_user
  OR practitioner = session_user
  OR ((office = (SELECT custody.viewer_office())
       OR case_office = (SELECT custody.viewer_office())
       OR destination = (SELECT custody.viewer_office())
       OR destination = 'home:' || session_user
       OR dispatched_from = (SELECT custody.viewer_office()))
      AND (NOT confidential OR (SELECT custody.viewer_is_office_staff())))
);

-- A case: by the same rules as its files, and wherever one of its files is visible.
DROP POLICY IF EXISTS case_read ON custody.case_record;
CREATE POLICY case_read ON custody.case_record FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR practitioner = session_user
  OR (office = (SELECT custody.viewer_office())
      AND (classification = 'restricted' OR (SELECT custody.viewer_is_office_staff())))
  OR EXISTS (SELECT FROM custody.file f WHERE f.case_id = case_record.id)
);

DROP POLICY IF EXISTS case_child_read ON custody.case_child;
CREATE POLICY case_child_read ON custody.case_child FOR SELECT USING (
  EXISTS (SELECT FROM custody.case_record c WHERE c.id = case_child.case_id)
);

-- Removals and transfers go with their file. Directors see every row, and an office's business
-- support and managers every removal of their office, so their checks end before any lookup; they
-- also see the removals their own staff hold of other offices' files (not those files), so that
-- what a leaver holds is known to whoever deactivates them.
DROP POLICY IF EXISTS removal_read ON custody.removal;
CREATE POLICY removal_read ON custody.removal FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR holder = session_user
  OR (office = (SELECT custody.viewer_office()) AND (SELECT custody.viewer_is_office_staff()))
  OR EXISTS (SELECT FROM custody.file f WHERE f.id = removal.file_id)
  OR holder = ANY ((SELECT custody.viewer_office_logins())::text[])
);

DROP POLICY IF EXISTS transfer_read ON custody.transfer;
CREATE POLICY transfer_read ON custody.transfer FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR EXISTS (SELECT FROM custody.file f WHERE f.id = transfer.file_id)
);

-- Events: your own, those of files and cases you may see, and the directory's (offices, staff).
DROP POLICY IF EXISTS event_read ON custody.event;
CREATE POLICY event_read ON custody.event FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR actor = session_user
  OR CASE
       WHEN file_id IS NOT NULL THEN custody.sees_file(file_id)
       WHEN case_id IS NOT NULL THEN custody.sees_case(case_id)
       ELSE true
     END
);

-- Police information and holds go with their case.
DROP POLICY IF EXISTS police_info_read ON custody.police_info;
CREATE POLICY police_info_read ON custody.police_info FOR SELECT USING (
  (SELECT custody.viewer_sees_all()) OR EXISTS (SELECT FROM custody.case_record c WHERE c.id = police_info.case_id)
);
DROP POLICY IF EXISTS hold_read ON custody.hold;
CREATE POLICY hold_read ON custody.hold FOR SELECT USING (
  (SELECT custody.viewer_sees_all()) OR EXISTS (SELECT FROM custody.case_record c WHERE c.id = hold.case_id)
);

-- The tally of files per office: only those who see every file read it. Its trigger runs as the
-- owner inside the custody API, on behalf of any member of staff, and reads the rows it adds to.
DROP POLICY IF EXISTS office_tally_read ON custody.office_tally;
CREATE POLICY office_tally_read ON custody.office_tally FOR SELECT USING ((SELECT custody.viewer_sees_all()));
DROP POLICY IF EXISTS office_tally_owner_read ON custody.office_tally;
CREATE POLICY office_tally_owner_read ON custody.office_tally FOR SELECT TO CURRENT_USER USING (true);

-- The heads of the record's digest chains: read and moved only by the owner's event triggers.
DROP POLICY IF EXISTS event_head_owner_read ON custody.event_head;
CREATE POLICY event_head_owner_read ON custody.event_head FOR SELECT TO CURRENT_USER USING (true);

-- Writes: only the owner, which staff reach only through the custody API's functions. There is
-- no DELETE policy: nothing is ever deleted, and events are never updated. `migrate` names the
-- owner in these policies (Sources/Custody/Install.swift).
DO $$
DECLARE
  agency_table text;
BEGIN
  FOREACH agency_table IN ARRAY ARRAY[
    'office', 'staff', 'secure_base', 'case_record', 'case_child', 'file', 'removal', 'transfer', 'event',
    'office_tally', 'police_info', 'hold', 'message', 'notify_state', 'stocktake', 'stocktake_expected',
    'stocktake_scan', 'event_head'
  ] LOOP
    EXECUTE format('DROP POLICY IF EXISTS %I ON custody.%I', agency_table || '_insert', agency_table);
    EXECUTE format('CREATE POLICY %I ON custody.%I FOR INSERT TO CURRENT_USER WITH CHECK (true)',
                   agency_table || '_insert', agency_table);
    IF agency_table <> 'event' THEN
      EXECUTE format('DROP POLICY IF EXISTS %I ON custody.%I', agency_table || '_update', agency_table);
      EXECUTE format('CREATE POLICY %I ON custody.%I FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true)',
                     agency_table || '_update', agency_table);
    END IF;
  END LOOP;
END
$$;
