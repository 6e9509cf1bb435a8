-- Row-level security asks who is looking in every statement the custody API runs. As SQL
-- functions these answers were planned afresh on every call; in PL/pgSQL their plans are cached
-- for the session. They are SECURITY INVOKER and name every object with its schema.

CREATE OR REPLACE FUNCTION custody.session_is_owner() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN (SELECT pg_catalog.pg_has_role(session_user, n.nspowner, 'MEMBER')
            FROM pg_catalog.pg_namespace n WHERE n.nspname = 'custody');
END
$$;

CREATE OR REPLACE FUNCTION custody.viewer_sees_all() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN custody.session_is_owner()
      OR EXISTS (SELECT FROM custody.staff s WHERE s.login = session_user AND s.role = 'director');
END
$$;

CREATE OR REPLACE FUNCTION custody.viewer_office() RETURNS text
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN (SELECT s.office FROM custody.staff s WHERE s.login = session_user);
END
$$;

CREATE OR REPLACE FUNCTION custody.viewer_is_office_staff() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (
    SELECT FROM custody.staff s
     WHERE s.login = session_user AND s.role IN ('business-support', 'office-manager', 'service-manager'));
END
$$;
