-- Row-level security: whoever connects, with custody or with psql, sees only what their role and
-- office allow. Policies are forced, so they bind the table owner too, and with it every
-- SECURITY DEFINER function of the custody API: a file the login may not see is "not found"
-- inside the API exactly as it is to a SELECT.
--
-- Visibility is decided by session_user (the login), through these functions. Each is used as
-- (SELECT custody.viewer_...()) so it runs once per query, and the row tests stay on the row's
-- own columns, which keeps reports on their indexes. They are PL/pgSQL, whose plans are cached
-- for the session, and SECURITY INVOKER, naming every object with its schema.
-- Released as sha256:b6b5ec84f8ab98b953c8df625df3e6741b9c8480bf9ee7f515b4173a887eacb9.
-- Its functions, policies, triggers and grants now live in engine/, each defined once.

DO $$
DECLARE
  agency_table text;
BEGIN
  FOREACH agency_table IN ARRAY ARRAY[
    'office', 'staff', 'secure_base', 'case_record', 'case_child', 'file', 'removal', 'transfer', 'event'
  ] LOOP
    EXECUTE format('ALTER TABLE custody.%I ENABLE ROW LEVEL SECURITY', agency_table);
    EXECUTE format('ALTER TABLE custody.%I FORCE ROW LEVEL SECURITY', agency_table);
  END LOOP;
END
$$;
