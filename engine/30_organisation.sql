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
  PERFORM custody.require_login(login);
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
  EXECUTE format('GRANT %I TO %I', custody.staff_group(role), login);

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

-- The member of staff a leaver or a move is about, locked; refused when the login is not valid.
CREATE OR REPLACE FUNCTION custody.lock_staff(login text) RETURNS custody.staff
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  locked custody.staff;
BEGIN
  PERFORM custody.require_login(login);
  SELECT * INTO locked FROM custody.staff s WHERE s.login = lock_staff.login FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no member of staff %', login USING ERRCODE = 'U0002';
  END IF;
  IF locked.deactivated_at IS NOT NULL THEN
    RAISE EXCEPTION '% left: their login was deactivated on % by % (%)', login,
      custody.local_time(locked.deactivated_at), locked.deactivated_by, locked.deactivation_reason
      USING ERRCODE = 'U0001';
  END IF;
  RETURN locked;
END
$$;

-- What a member of staff has in their keeping: the files they hold, and those kept at or coming to
-- their home base, as the login may see them; removals of files the login may not see are counted
-- by office. NULL when there is nothing.
CREATE OR REPLACE FUNCTION custody.staff_keeping(member custody.staff) RETURNS text
  LANGUAGE sql STABLE
  SET search_path = custody, pg_temp
  AS $$
    SELECT string_agg(item, ', ' ORDER BY item) FROM (
      SELECT coalesce(
               (SELECT format('%s (held at %s, due back %s)', f.label, r.whereabouts, custody.local_time(r.expected_return))
                  FROM custody.file f WHERE f.id = r.file_id),
               format('a file of office %s (held since %s)', r.office, custody.local_time(r.out_at))) AS item
        FROM custody.removal r
       WHERE r.holder = member.login AND r.ended_at IS NULL
      UNION ALL
      SELECT format('%s (%s home base %s)', f.label,
                    CASE WHEN f.status = 'in_transit' THEN 'coming to the' ELSE 'kept at the' END,
                    coalesce(f.destination, f.base))
        FROM custody.file f
       WHERE (f.base = 'home:' || member.login AND f.status = 'at_base')
          OR f.destination = 'home:' || member.login
    ) kept
  $$;

-- A leaver: their login can no longer connect (NOLOGIN) or act (out of its group role, and the
-- API refuses a deactivated member of staff). Refused while they have files in their keeping
-- unless forced, which leaves those removals open under their name. The database owner and
-- directors deactivate anyone; an office manager their office's practitioners, family support
-- workers and business support.
CREATE OR REPLACE FUNCTION custody.staff_deactivate(request uuid, login text, reason text, force boolean DEFAULT false)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  replay bigint := custody.replayed(request, 'staff_deactivated', login);
  is_owner boolean := custody.session_is_owner();
  me custody.staff;
  leaver custody.staff;
  keeping text;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  IF NOT is_owner THEN
    me := custody.current_staff();
  END IF;
  leaver := custody.lock_staff(login);
  PERFORM custody.require_text(reason, 'the reason');
  IF NOT is_owner AND NOT (
       me.role = 'director'
       OR (me.role = 'office-manager' AND me.office = leaver.office
           AND leaver.role IN ('practitioner', 'family-support-worker', 'business-support'))) THEN
    RAISE EXCEPTION '% (%, %) may not deactivate % (%, %)', me.login, me.role, me.office, leaver.login,
      leaver.role, leaver.office
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('a director, or the office manager of %s for its practitioners, family support workers and business support, may', leaver.office);
  END IF;
  IF leaver.login = session_user THEN
    RAISE EXCEPTION 'you cannot deactivate your own login' USING ERRCODE = 'U0001',
      HINT = 'a director or your office manager deactivates a leaver';
  END IF;
  keeping := custody.staff_keeping(leaver);
  IF keeping IS NOT NULL AND NOT coalesce(force, false) THEN
    RAISE EXCEPTION '% still has files in their keeping: %', leaver.login, keeping
      USING ERRCODE = 'U0001',
            HINT = 'have them returned or received first, or deactivate with --force to leave them open under their name';
  END IF;
  BEGIN
    EXECUTE format('ALTER ROLE %I NOLOGIN', leaver.login);
    EXECUTE format('REVOKE %I FROM %I', custody.staff_group(leaver.role), leaver.login);
  EXCEPTION WHEN insufficient_privilege THEN
    RAISE EXCEPTION 'the custody engine''s owner may not change the PostgreSQL role %', leaver.login
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'ask the DBA to run ''custody migrate'' as a superuser, or to make the role NOLOGIN by hand';
  END;
  UPDATE custody.staff
     SET deactivated_at = now(), deactivated_by = session_user, deactivation_reason = reason
   WHERE staff.login = leaver.login;
  INSERT INTO custody.event (kind, request_id, subject, base, note)
    VALUES ('staff_deactivated', request, leaver.login, leaver.office,
            reason || CASE WHEN keeping IS NULL THEN '' ELSE '; left in their keeping: ' || keeping END)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- A move: another role, another office, a home base opened or closed (directors and the database
-- owner). A worker whose home base keeps files, or has files coming to it, changes office or
-- becomes office-based only once those files are elsewhere.
CREATE OR REPLACE FUNCTION custody.staff_change(
  request uuid, login text, new_role text DEFAULT NULL, new_office text DEFAULT NULL, home_based boolean DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  replay bigint := custody.replayed(request, 'staff_changed', login);
  me custody.staff;
  member custody.staff;
  home text := 'home:' || login;
  changes text[] := '{}';
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  IF NOT custody.session_is_owner() THEN
    me := custody.current_staff();
    IF me.role <> 'director' THEN
      RAISE EXCEPTION 'only a director may change a member of staff''s role, office or home base'
        USING ERRCODE = 'insufficient_privilege';
    END IF;
  END IF;
  member := custody.lock_staff(login);
  IF new_role IS NOT NULL AND new_role NOT IN ('practitioner', 'family-support-worker', 'business-support',
                                               'office-manager', 'service-manager', 'director') THEN
    RAISE EXCEPTION '"%" is not a staff role', new_role USING ERRCODE = 'U0003';
  END IF;
  IF new_office IS NOT NULL THEN
    PERFORM custody.require_office(new_office);
  END IF;
  IF new_role IS NOT NULL AND new_role <> member.role THEN
    changes := changes || format('role %s -> %s', member.role, new_role);
  END IF;
  IF new_office IS NOT NULL AND new_office <> member.office THEN
    changes := changes || format('office %s -> %s', member.office, new_office);
  END IF;
  IF home_based IS NOT NULL AND home_based <> member.home_based THEN
    changes := changes || CASE WHEN home_based THEN 'home-based' ELSE 'office-based' END;
  END IF;
  IF cardinality(changes) = 0 THEN
    RAISE EXCEPTION 'nothing to change: % is a % at %, %', member.login, member.role, member.office,
      CASE WHEN member.home_based THEN 'home-based' ELSE 'office-based' END
      USING ERRCODE = 'U0001';
  END IF;
  IF member.home_based AND ((new_office IS NOT NULL AND new_office <> member.office) OR home_based = false)
     AND EXISTS (SELECT FROM custody.file f
                  WHERE (f.base = home AND f.status <> 'destroyed') OR f.destination = home) THEN
    RAISE EXCEPTION 'files are kept at or coming to the home base %: %', home,
      coalesce(custody.staff_keeping(member), 'files this login may not see')
      USING ERRCODE = 'U0001', HINT = 'transfer them to an office first';
  END IF;
  IF new_role IS NOT NULL AND new_role <> member.role THEN
    EXECUTE format('REVOKE %I FROM %I', custody.staff_group(member.role), member.login);
    EXECUTE format('GRANT %I TO %I', custody.staff_group(new_role), member.login);
  END IF;
  UPDATE custody.staff
     SET role = coalesce(new_role, staff.role), office = coalesce(new_office, staff.office),
         home_based = coalesce(staff_change.home_based, staff.home_based)
   WHERE staff.login = member.login
   RETURNING * INTO member;
  IF member.home_based THEN
    INSERT INTO custody.secure_base (id, office, home_of) VALUES (home, member.office, member.login)
      ON CONFLICT (id) DO UPDATE SET office = excluded.office, closed_at = NULL;
  ELSE
    UPDATE custody.secure_base SET closed_at = now() WHERE id = home AND closed_at IS NULL;
  END IF;
  INSERT INTO custody.event (kind, request_id, subject, base, note)
    VALUES ('staff_changed', request, member.login, member.office, array_to_string(changes, '; '))
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

GRANT EXECUTE ON FUNCTION
  custody.office_add(uuid,text,text,text),
  custody.staff_add(uuid,text,text,text,text,text,boolean,text,boolean),
  custody.staff_deactivate(uuid,text,text,boolean),
  custody.staff_change(uuid,text,text,text,boolean)
  TO custody_staff;
