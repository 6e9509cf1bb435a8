-- Who sees what: the policies the custody API's changes in this wave touched, the functions they
-- ask, and the check that row-level security binds the API at all. Applied after the versioned
-- migrations whenever this file changes; each object here is defined once.

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
GRANT EXECUTE ON FUNCTION custody.sees_file(bigint), custody.sees_case(bigint) TO custody_staff;

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

-- A file is seen by the office of its case wherever it is, as by its own office (file.case_office).
DROP POLICY IF EXISTS file_read ON custody.file;
CREATE POLICY file_read ON custody.file FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR holder = session_user
  OR practitioner = session_user
  OR ((office = (SELECT custody.viewer_office())
       OR case_office = (SELECT custody.viewer_office())
       OR destination = (SELECT custody.viewer_office())
       OR destination = 'home:' || session_user)
      AND (NOT confidential OR (SELECT custody.viewer_is_office_staff())))
);

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
GRANT EXECUTE ON FUNCTION custody.install_state() TO custody_staff;
