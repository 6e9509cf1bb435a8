-- The agency: its offices and staff, and each member of staff's PostgreSQL login.
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

CREATE OR REPLACE FUNCTION custody.office_add(request uuid, code text, name text, email text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  replay bigint := custody.replayed(request, 'office_added', code);
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  IF NOT custody.session_is_owner()
     AND NOT EXISTS (SELECT FROM custody.staff s WHERE s.login = session_user AND s.role = 'director') THEN
    RAISE EXCEPTION 'only the database owner or a director may add offices'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF code IS NULL OR NOT custody.is_office_code(code) THEN
    RAISE EXCEPTION '"%" is not a valid office code', code
      USING ERRCODE = 'U0003', HINT = 'an office code is 2 to 8 upper-case letters or digits';
  END IF;
  PERFORM custody.require_text(name, 'the office name', 200);
  IF email IS NOT NULL AND NOT custody.is_email(email) THEN
    RAISE EXCEPTION '"%" is not an email address', email USING ERRCODE = 'U0003';
  END IF;
  IF EXISTS (SELECT FROM custody.office o WHERE o.code = office_add.code) THEN
    RAISE EXCEPTION 'office % already exists', code USING ERRCODE = 'U0001';
  END IF;
  INSERT INTO custody.office (code, name, email) VALUES (code, name, email);
  INSERT INTO custody.secure_base (id, office) VALUES (code, code);
  INSERT INTO custody.event (kind, request_id, subject, base)
    VALUES ('office_added', request, code, code)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- Staff: the owner and directors add anyone; an office manager adds practitioners, family support
-- workers and business support to their own office. A PostgreSQL role that already exists becomes
-- a staff login only when the owner or a director says so (adopt).
CREATE OR REPLACE FUNCTION custody.staff_add(
  request uuid, login text, name text, role text, office text,
  employment text DEFAULT 'employed', home_based boolean DEFAULT false, email text DEFAULT NULL,
  adopt boolean DEFAULT false)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  replay bigint := custody.replayed(request, 'staff_added', login);
  is_owner boolean := custody.session_is_owner();
  me custody.staff;
  existing pg_roles;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  IF NOT is_owner THEN
    me := custody.current_staff();
    IF NOT (me.role = 'director' OR (me.role = 'office-manager' AND me.office = staff_add.office)) THEN
      RAISE EXCEPTION 'only the database owner, a director, or the office manager of % may add staff to it', office
        USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF me.role <> 'director' AND role NOT IN ('practitioner', 'family-support-worker', 'business-support') THEN
      RAISE EXCEPTION 'an office manager adds practitioners, family support workers and business support; % (%) may not add a %',
        me.login, me.role, role
        USING ERRCODE = 'insufficient_privilege', HINT = 'a director adds managers and directors';
    END IF;
  END IF;
  IF login IS NULL OR NOT custody.is_login(login) THEN
    RAISE EXCEPTION '"%" is not a valid login', login
      USING ERRCODE = 'U0003',
            HINT = 'a login is up to 63 lower-case letters, digits, ''_'', ''.'' and ''-'', starting with a letter';
  END IF;
  PERFORM custody.require_text(name, 'the name', 200);
  IF role IS NULL OR role NOT IN ('practitioner', 'family-support-worker', 'business-support',
                                  'office-manager', 'service-manager', 'director') THEN
    RAISE EXCEPTION '"%" is not a staff role', role USING ERRCODE = 'U0003';
  END IF;
  IF employment IS NULL OR employment NOT IN ('employed', 'self-employed', 'agency', 'bank') THEN
    RAISE EXCEPTION '"%" is not a kind of employment', employment USING ERRCODE = 'U0003';
  END IF;
  IF email IS NOT NULL AND NOT custody.is_email(email) THEN
    RAISE EXCEPTION '"%" is not an email address', email USING ERRCODE = 'U0003';
  END IF;
  PERFORM custody.require_office(office);
  IF EXISTS (SELECT FROM custody.staff s WHERE s.login = staff_add.login) THEN
    RAISE EXCEPTION '% is already a member of staff', login USING ERRCODE = 'U0001';
  END IF;

  -- The login role: created here, or an existing plain login adopted on purpose (one made by the
  -- DBA with its password or Kerberos principal). A role with powers beyond a staff login is refused.
  SELECT * INTO existing FROM pg_roles r WHERE r.rolname = staff_add.login;
  IF NOT FOUND THEN
    EXECUTE format('CREATE ROLE %I LOGIN', login);
  ELSIF NOT coalesce(adopt, false) THEN
    RAISE EXCEPTION 'a PostgreSQL role % already exists and is not a member of staff', login
      USING ERRCODE = 'U0001',
            HINT = 'choose another login, or have a director or the database owner adopt that role with --adopt-login';
  ELSIF NOT (is_owner OR me.role = 'director') THEN
    RAISE EXCEPTION 'only the database owner or a director may adopt an existing PostgreSQL role as a staff login'
      USING ERRCODE = 'insufficient_privilege';
  ELSIF existing.rolsuper OR existing.rolbypassrls OR existing.rolcreaterole OR existing.rolcreatedb
        OR existing.rolreplication OR NOT existing.rolcanlogin THEN
    RAISE EXCEPTION 'the PostgreSQL role % exists and is not a plain login, so it cannot be a staff login', login
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'staff logins have no SUPERUSER, BYPASSRLS, CREATEROLE, CREATEDB or REPLICATION';
  END IF;
  EXECUTE format('GRANT %I TO %I', 'custody_' || replace(role, '-', '_'), login);

  INSERT INTO custody.staff (login, name, role, office, employment, home_based, email)
    VALUES (login, name, role, office, employment, home_based, email);
  IF home_based THEN
    INSERT INTO custody.secure_base (id, office, home_of) VALUES ('home:' || login, office, login);
  END IF;
  INSERT INTO custody.event (kind, request_id, subject, base, note)
    VALUES ('staff_added', request, login, office, role)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

GRANT EXECUTE ON FUNCTION
  custody.office_add(uuid,text,text,text),
  custody.staff_add(uuid,text,text,text,text,text,boolean,text,boolean)
  TO custody_staff;
