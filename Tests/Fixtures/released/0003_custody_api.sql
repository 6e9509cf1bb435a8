-- The custody API: every change is one call of one of these functions. Each appends one event
-- and updates the current state in the same transaction. They run as the schema owner
-- (SECURITY DEFINER) with a pinned search_path; the actor is always session_user.
--
-- Errors use these SQLSTATEs, which the client maps to its exit codes:
--   U0001  refused by the custody rules (the state does not allow it)
--   U0002  not found
--   U0003  invalid value
--   42501  permission denied

-- Times in messages, in the session's time zone (the client sets it to the user's zone).
CREATE FUNCTION custody.local_time(t timestamptz) RETURNS text
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT CASE WHEN date_trunc('year', t) = date_trunc('year', now())
                THEN to_char(t, 'DD Mon HH24:MI')
                ELSE to_char(t, 'DD Mon YYYY HH24:MI') END
  $$;

-- The member of staff running the command; anyone else is refused.
CREATE FUNCTION custody.current_staff() RETURNS custody.staff
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff;
BEGIN
  SELECT * INTO me FROM custody.staff WHERE login = session_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'you are logged in as %, who is not a member of staff', session_user
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'a director or your office manager can add you with ''custody staff add''';
  END IF;
  RETURN me;
END
$$;

-- True when the login owns the custody schema (the database owner who migrated it). PL/pgSQL, so
-- its plan is cached for the session: row-level security asks it in every statement.
CREATE FUNCTION custody.session_is_owner() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN (SELECT pg_catalog.pg_has_role(session_user, n.nspowner, 'MEMBER')
            FROM pg_catalog.pg_namespace n WHERE n.nspname = 'custody');
END
$$;

-- Business support, office managers and service managers act for their own office; directors for any.
CREATE FUNCTION custody.has_office_authority(me custody.staff, office_code text) RETURNS boolean
  LANGUAGE sql STABLE
  SET search_path = custody, pg_temp
  AS $$
    SELECT me.role = 'director'
        OR (me.office = office_code AND me.role IN ('business-support', 'office-manager', 'service-manager'))
  $$;

CREATE FUNCTION custody.require_office_authority(me custody.staff, office_code text, action text)
  RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF NOT custody.has_office_authority(me, office_code) THEN
    RAISE EXCEPTION '% (%, %) may not % for office %', me.login, me.role, me.office, action, office_code
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('business support, office managers and service managers of %s, or a director, may', office_code);
  END IF;
END
$$;

-- A request id seen before returns the event it recorded; a new one returns NULL.
-- Same-id calls are serialised by an advisory lock, so a retry never records twice.
CREATE FUNCTION custody.replayed(request uuid, expected_kind text, expected_subject text) RETURNS bigint
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  earlier custody.event;
BEGIN
  IF request IS NULL THEN
    RAISE EXCEPTION 'a request id is required' USING ERRCODE = 'U0003';
  END IF;
  PERFORM pg_advisory_xact_lock(1131373620, hashtext(request::text));
  SELECT * INTO earlier FROM custody.event WHERE request_id = request;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF earlier.kind <> expected_kind OR earlier.subject <> expected_subject OR earlier.actor <> session_user THEN
    RAISE EXCEPTION 'request id % was already used for a different command', request
      USING ERRCODE = 'U0003', HINT = 'send a new request id, or leave --request-id out';
  END IF;
  RETURN earlier.id;
END
$$;

-- Value checks with messages that say what is wrong. The rules themselves are the is_* functions.
CREATE FUNCTION custody.require_text(value text, field text, max_length integer DEFAULT 2000)
  RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF value IS NULL OR NOT custody.is_text(value, max_length) THEN
    RAISE EXCEPTION '% must be 1 to % characters of text, not blank, without control characters other than tab',
      field, to_char(max_length, 'FM9,999')
      USING ERRCODE = 'U0003';
  END IF;
END
$$;

CREATE FUNCTION custody.require_label(value text, what text DEFAULT 'label') RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF value IS NULL OR NOT custody.is_label(value) THEN
    RAISE EXCEPTION '"%" is not a valid %', value, what
      USING ERRCODE = 'U0003',
            HINT = 'use 1 to 40 upper-case letters, digits, ''-'' and ''/'', starting with a letter or digit';
  END IF;
END
$$;

CREATE FUNCTION custody.require_future(t timestamptz, what text) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF t IS NULL OR t <= now() THEN
    RAISE EXCEPTION '% must be in the future (% is not)', what, custody.local_time(t)
      USING ERRCODE = 'U0003';
  END IF;
END
$$;

CREATE FUNCTION custody.require_office(code text) RETURNS custody.office
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  found_office custody.office;
BEGIN
  IF code IS NULL OR NOT custody.is_office_code(code) THEN
    RAISE EXCEPTION '"%" is not a valid office code', code
      USING ERRCODE = 'U0003', HINT = 'an office code is 2 to 8 upper-case letters or digits';
  END IF;
  SELECT * INTO found_office FROM custody.office WHERE office.code = require_office.code;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no office %', code USING ERRCODE = 'U0002';
  END IF;
  RETURN found_office;
END
$$;

CREATE FUNCTION custody.require_staff(login text) RETURNS custody.staff
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  member custody.staff;
BEGIN
  SELECT * INTO member FROM custody.staff WHERE staff.login = require_staff.login;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no member of staff %', login USING ERRCODE = 'U0002';
  END IF;
  RETURN member;
END
$$;

CREATE FUNCTION custody.require_secure_base(id text) RETURNS custody.secure_base
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  place custody.secure_base;
BEGIN
  SELECT * INTO place FROM custody.secure_base WHERE secure_base.id = require_secure_base.id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no secure base %', id
      USING ERRCODE = 'U0002', HINT = 'a secure base is an office code or home:LOGIN of a home-based worker';
  END IF;
  RETURN place;
END
$$;

-- Locks the file's row for the rest of the transaction: every move of one file queues here.
CREATE FUNCTION custody.lock_file(label text) RETURNS custody.file
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  locked custody.file;
BEGIN
  PERFORM custody.require_label(label);
  SELECT * INTO locked FROM custody.file WHERE file.label = lock_file.label FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no file %', label USING ERRCODE = 'U0002';
  END IF;
  RETURN locked;
END
$$;

-- "is checked out by pat since 25 Nov 09:12, due back 25 Nov 17:00"
CREATE FUNCTION custody.state_phrase(f custody.file) RETURNS text
  LANGUAGE sql STABLE
  SET search_path = custody, pg_temp
  AS $$
    SELECT CASE f.status
      WHEN 'at_base' THEN format('is at its secure base %s since %s', f.base, custody.local_time(f.status_since))
      WHEN 'checked_out' THEN (
        SELECT format('is checked out by %s since %s, due back %s',
                      r.holder, custody.local_time(r.out_at), custody.local_time(r.expected_return))
          FROM custody.removal r WHERE r.id = f.open_removal)
      WHEN 'in_transit' THEN (
        SELECT format('is in transit from %s to %s since %s, expected by %s',
                      t.from_base, t.to_base, custody.local_time(t.dispatched_at), custody.local_time(t.expected_by))
          FROM custody.transfer t WHERE t.id = f.open_transfer)
      WHEN 'missing' THEN format('is missing since %s', custody.local_time(f.status_since))
      ELSE format('was destroyed on %s', custody.local_time(f.status_since))
    END
  $$;

CREATE FUNCTION custody.refuse(f custody.file, hint text) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  RAISE EXCEPTION '% %', f.label, custody.state_phrase(f)
    USING ERRCODE = 'U0001', HINT = hint;
END
$$;

-- Setup -----------------------------------------------------------------------------------

CREATE FUNCTION custody.office_add(request uuid, code text, name text, email text DEFAULT NULL)
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

CREATE FUNCTION custody.staff_add(
  request uuid, login text, name text, role text, office text,
  employment text DEFAULT 'employed', home_based boolean DEFAULT false, email text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  replay bigint := custody.replayed(request, 'staff_added', login);
  existing pg_roles;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  IF NOT custody.session_is_owner()
     AND NOT EXISTS (
       SELECT FROM custody.staff s
        WHERE s.login = session_user
          AND (s.role = 'director' OR (s.role = 'office-manager' AND s.office = staff_add.office))) THEN
    RAISE EXCEPTION 'only the database owner, a director, or the office manager of % may add staff to it', office
      USING ERRCODE = 'insufficient_privilege';
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

  -- The login role: created here, or an existing plain login adopted (one made by the DBA with
  -- its password or Kerberos principal). A role with powers beyond a staff login is refused.
  SELECT * INTO existing FROM pg_roles r WHERE r.rolname = staff_add.login;
  IF NOT FOUND THEN
    EXECUTE format('CREATE ROLE %I LOGIN', login);
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

-- Cases -----------------------------------------------------------------------------------

CREATE FUNCTION custody.case_open(
  request uuid, number text, office text, law text, classification text DEFAULT 'restricted',
  children_born date[] DEFAULT '{}', practitioner text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'case_opened', number);
  allocated custody.staff;
  new_case bigint;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(number, 'case number');
  IF law IS NULL OR law NOT IN ('private', 'public', 'adoption') THEN
    RAISE EXCEPTION '"%" is not a kind of law: private, public or adoption', law USING ERRCODE = 'U0003';
  END IF;
  IF classification IS NULL OR classification NOT IN ('restricted', 'confidential') THEN
    RAISE EXCEPTION '"%" is not a classification: restricted or confidential', classification
      USING ERRCODE = 'U0003';
  END IF;
  IF EXISTS (SELECT FROM unnest(children_born) born WHERE born IS NULL OR born > current_date) THEN
    RAISE EXCEPTION 'a child''s date of birth cannot be in the future' USING ERRCODE = 'U0003';
  END IF;
  PERFORM custody.require_office(office);
  PERFORM custody.require_office_authority(me, office, 'open cases');
  IF classification = 'confidential' AND me.role NOT IN ('service-manager', 'director') THEN
    RAISE EXCEPTION 'only a service manager or a director may classify a case confidential'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF practitioner IS NOT NULL THEN
    allocated := custody.require_staff(practitioner);
    IF allocated.role NOT IN ('practitioner', 'family-support-worker') THEN
      RAISE EXCEPTION '% is % staff, not a practitioner', practitioner, allocated.role USING ERRCODE = 'U0003';
    END IF;
  END IF;
  IF EXISTS (SELECT FROM custody.case_record c WHERE c.number = case_open.number) THEN
    RAISE EXCEPTION 'case % already exists', number USING ERRCODE = 'U0001';
  END IF;
  INSERT INTO custody.case_record (number, office, law, classification, practitioner)
    VALUES (number, office, law, classification, practitioner)
    RETURNING id INTO new_case;
  INSERT INTO custody.case_child (case_id, born) SELECT new_case, born FROM unnest(children_born) born;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, holder)
    VALUES ('case_opened', request, number, new_case, office, practitioner)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.case_allocate(request uuid, number text, practitioner text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'case_allocated', number);
  the_case custody.case_record;
  allocated custody.staff;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(number, 'case number');
  SELECT * INTO the_case FROM custody.case_record c WHERE c.number = case_allocate.number FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no case %', number USING ERRCODE = 'U0002';
  END IF;
  PERFORM custody.require_office_authority(me, the_case.office, 'allocate cases');
  allocated := custody.require_staff(practitioner);
  IF allocated.role NOT IN ('practitioner', 'family-support-worker') THEN
    RAISE EXCEPTION '% is % staff, not a practitioner', practitioner, allocated.role USING ERRCODE = 'U0003';
  END IF;
  UPDATE custody.case_record SET practitioner = allocated.login WHERE id = the_case.id;
  UPDATE custody.file SET practitioner = allocated.login WHERE case_id = the_case.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, holder)
    VALUES ('case_allocated', request, number, the_case.id, the_case.office, allocated.login)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- Classification is the service manager's decision (policy 4.6, 4.7), or a director's.
CREATE FUNCTION custody.case_classify(request uuid, number text, classification text, reason text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'case_classified', number);
  the_case custody.case_record;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(number, 'case number');
  IF classification IS NULL OR classification NOT IN ('restricted', 'confidential') THEN
    RAISE EXCEPTION '"%" is not a classification: restricted or confidential', classification
      USING ERRCODE = 'U0003';
  END IF;
  PERFORM custody.require_text(reason, 'the reason');
  SELECT * INTO the_case FROM custody.case_record c WHERE c.number = case_classify.number FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no case %', number USING ERRCODE = 'U0002';
  END IF;
  IF NOT (me.role = 'director' OR (me.role = 'service-manager' AND me.office = the_case.office)) THEN
    RAISE EXCEPTION '% (%, %) may not classify cases of office %', me.login, me.role, me.office, the_case.office
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('the service manager of %s, or a director, may', the_case.office);
  END IF;
  IF the_case.classification = classification THEN
    RAISE EXCEPTION 'case % is already %', number, classification USING ERRCODE = 'U0001';
  END IF;
  UPDATE custody.case_record c SET classification = case_classify.classification WHERE c.id = the_case.id;
  UPDATE custody.file f SET confidential = (case_classify.classification = 'confidential')
   WHERE f.case_id = the_case.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, note)
    VALUES ('case_classified', request, number, the_case.id, the_case.office, classification || ': ' || reason)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- Files -----------------------------------------------------------------------------------

CREATE FUNCTION custody.file_register(
  request uuid, case_number text, volume integer DEFAULT NULL, kind text DEFAULT 'file', label text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'registered', coalesce(label, case_number));
  the_case custody.case_record;
  new_volume integer := volume;
  new_label text := label;
  serial integer;
  new_file bigint;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(case_number, 'case number');
  IF label IS NOT NULL THEN
    PERFORM custody.require_label(label);
  END IF;
  IF kind IS NULL OR kind NOT IN ('file', 'folder') THEN
    RAISE EXCEPTION '"%" is not a kind of file: file or folder', kind USING ERRCODE = 'U0003';
  END IF;
  IF volume IS NOT NULL AND volume NOT BETWEEN 1 AND 999 THEN
    RAISE EXCEPTION 'the volume must be a number from 1 to 999' USING ERRCODE = 'U0003';
  END IF;
  -- Locking the case serialises registrations of its volumes.
  SELECT * INTO the_case FROM custody.case_record c WHERE c.number = case_number FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no case %', case_number USING ERRCODE = 'U0002';
  END IF;
  PERFORM custody.require_office_authority(me, the_case.office, 'register files');
  IF new_volume IS NULL THEN
    SELECT coalesce(max(f.volume), 0) + 1 INTO new_volume FROM custody.file f WHERE f.case_id = the_case.id;
  ELSIF EXISTS (SELECT FROM custody.file f WHERE f.case_id = the_case.id AND f.volume = new_volume) THEN
    RAISE EXCEPTION 'case % already has a volume %', case_number, new_volume USING ERRCODE = 'U0001';
  END IF;
  IF new_label IS NULL THEN
    LOOP
      UPDATE custody.office o SET next_label = o.next_label + 1
       WHERE o.code = the_case.office
       RETURNING o.next_label - 1 INTO serial;
      new_label := the_case.office || '-' || lpad(serial::text, 6, '0');
      EXIT WHEN NOT EXISTS (SELECT FROM custody.file f WHERE f.label = new_label);
    END LOOP;
  ELSIF EXISTS (SELECT FROM custody.file f WHERE f.label = new_label) THEN
    RAISE EXCEPTION 'the label % is already in use', new_label USING ERRCODE = 'U0001';
  END IF;
  INSERT INTO custody.file (label, case_id, volume, kind, base, office, confidential, practitioner)
    VALUES (new_label, the_case.id, new_volume, kind, the_case.office, the_case.office,
            the_case.classification = 'confidential', the_case.practitioner)
    RETURNING id INTO new_file;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base)
    VALUES ('registered', request, coalesce(label, case_number), the_case.id, new_file, the_case.office)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.checkout(request uuid, label text, whereabouts text, return_by timestamptz)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'checked_out', label);
  f custody.file;
  removal_id bigint;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(label);
  PERFORM custody.require_text(whereabouts, 'the whereabouts');
  PERFORM custody.require_future(return_by, 'the return time');
  -- Anyone may check out a file they can see (row-level security decides what that is).
  f := custody.lock_file(label);
  IF f.status <> 'at_base' THEN
    PERFORM custody.refuse(f, 'only a file at its secure base can be checked out');
  END IF;
  INSERT INTO custody.removal (file_id, office, holder, whereabouts, expected_return)
    VALUES (f.id, f.office, me.login, whereabouts, return_by)
    RETURNING id INTO removal_id;
  UPDATE custody.file SET status = 'checked_out', status_since = now(), open_removal = removal_id, holder = me.login
   WHERE id = f.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder, whereabouts, expected_at)
    VALUES ('checked_out', request, f.label, f.case_id, f.id, f.base, me.login, whereabouts, return_by)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- The holder, or staff answerable for the file's office, may change or end a removal.
CREATE FUNCTION custody.require_holder_or_office(me custody.staff, f custody.file, r custody.removal, action text)
  RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF r.holder = me.login THEN
    RETURN;
  END IF;
  PERFORM custody.require_office_authority(me, f.office, action || ' on behalf of ' || r.holder);
END
$$;

CREATE FUNCTION custody.extend(request uuid, label text, return_by timestamptz, reason text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'extended', label);
  f custody.file;
  r custody.removal;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(label);
  PERFORM custody.require_future(return_by, 'the new return time');
  IF reason IS NOT NULL THEN
    PERFORM custody.require_text(reason, 'the reason');
  END IF;
  f := custody.lock_file(label);
  IF f.status <> 'checked_out' THEN
    PERFORM custody.refuse(f, 'only a checked-out file can be extended');
  END IF;
  SELECT * INTO r FROM custody.removal WHERE id = f.open_removal;
  PERFORM custody.require_holder_or_office(me, f, r, 'extend a removal');
  UPDATE custody.removal SET expected_return = return_by WHERE id = r.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder, whereabouts, expected_at, note)
    VALUES ('extended', request, f.label, f.case_id, f.id, f.base, r.holder, r.whereabouts, return_by, reason)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.return_file(request uuid, label text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'returned', label);
  f custody.file;
  r custody.removal;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  f := custody.lock_file(label);
  IF f.status <> 'checked_out' THEN
    PERFORM custody.refuse(f, 'only a checked-out file can be returned');
  END IF;
  SELECT * INTO r FROM custody.removal WHERE id = f.open_removal;
  PERFORM custody.require_holder_or_office(me, f, r, 'return a file');
  UPDATE custody.removal SET ended_at = now(), ended_by = me.login, ended_how = 'returned' WHERE id = r.id;
  UPDATE custody.file SET status = 'at_base', status_since = now(), open_removal = NULL, holder = NULL
   WHERE id = f.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder)
    VALUES ('returned', request, f.label, f.case_id, f.id, f.base, r.holder)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.transfer(
  request uuid, label text, destination text, method text, expected_by timestamptz,
  carrier text DEFAULT NULL, reference text DEFAULT NULL, seal text DEFAULT NULL, courier text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'dispatched', label);
  f custody.file;
  target custody.secure_base;
  transfer_id bigint;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(label);
  IF method IS NULL OR method NOT IN ('hand', 'secure-carrier') THEN
    RAISE EXCEPTION '"%" is not a transfer method: hand or secure-carrier', method USING ERRCODE = 'U0003';
  END IF;
  IF method = 'secure-carrier' AND carrier IS NULL THEN
    RAISE EXCEPTION 'a secure-carrier transfer needs the carrier''s name (--carrier)' USING ERRCODE = 'U0003';
  END IF;
  IF carrier IS NOT NULL THEN PERFORM custody.require_text(carrier, 'the carrier', 200); END IF;
  IF reference IS NOT NULL THEN PERFORM custody.require_text(reference, 'the reference', 200); END IF;
  IF seal IS NOT NULL THEN PERFORM custody.require_text(seal, 'the seal', 200); END IF;
  PERFORM custody.require_future(expected_by, 'the expected arrival');
  target := custody.require_secure_base(destination);
  IF courier IS NOT NULL THEN PERFORM custody.require_staff(courier); END IF;
  f := custody.lock_file(label);
  PERFORM custody.require_office_authority(me, f.office, 'transfer files');
  IF f.status <> 'at_base' THEN
    PERFORM custody.refuse(f, 'only a file at its secure base can be transferred');
  END IF;
  IF target.id = f.base THEN
    RAISE EXCEPTION '% is already at its secure base %', f.label, f.base
      USING ERRCODE = 'U0001', HINT = 'a transfer goes to another secure base';
  END IF;
  INSERT INTO custody.transfer (file_id, from_base, to_base, from_office, to_office, method, carrier,
                                reference, seal, courier, expected_by)
    VALUES (f.id, f.base, target.id, f.office, target.office, method, carrier, reference, seal, courier, expected_by)
    RETURNING id INTO transfer_id;
  UPDATE custody.file
     SET status = 'in_transit', status_since = now(), open_transfer = transfer_id, destination = target.id
   WHERE id = f.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, expected_at, destination,
                             method, carrier, reference, seal, courier)
    VALUES ('dispatched', request, f.label, f.case_id, f.id, f.base, expected_by, target.id,
            method, carrier, reference, seal, courier)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.receive(request uuid, label text, seal text DEFAULT NULL, note text DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'received', label);
  f custody.file;
  t custody.transfer;
  discrepancy boolean;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(label);
  IF seal IS NOT NULL THEN PERFORM custody.require_text(seal, 'the seal', 200); END IF;
  IF note IS NOT NULL THEN PERFORM custody.require_text(note, 'the note'); END IF;
  f := custody.lock_file(label);
  IF f.status <> 'in_transit' THEN
    PERFORM custody.refuse(f, 'only a file in transit can be received');
  END IF;
  SELECT * INTO t FROM custody.transfer WHERE id = f.open_transfer;
  IF NOT (me.role = 'director'
          OR t.to_base = 'home:' || me.login
          OR (t.to_base = me.office AND me.role IN ('business-support', 'office-manager', 'service-manager'))) THEN
    RAISE EXCEPTION '% is coming to %; you (%, %) cannot receive it', f.label, t.to_base, me.login, me.role
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'the destination office''s business support or managers, or the home-based worker, receive it';
  END IF;
  discrepancy := CASE WHEN seal IS NULL THEN NULL ELSE t.seal IS DISTINCT FROM seal END;
  UPDATE custody.transfer
     SET ended_at = now(), ended_by = me.login, ended_how = 'received',
         received_seal = receive.seal, seal_discrepancy = discrepancy
   WHERE id = t.id;
  UPDATE custody.file
     SET status = 'at_base', status_since = now(), open_transfer = NULL, destination = NULL,
         base = t.to_base, office = t.to_office
   WHERE id = f.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, seal, seal_discrepancy, note)
    VALUES ('received', request, f.label, f.case_id, f.id, t.to_base, seal, discrepancy, note)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.cancel_transfer(request uuid, label text, reason text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'transfer_cancelled', label);
  f custody.file;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(label);
  PERFORM custody.require_text(reason, 'the reason');
  f := custody.lock_file(label);
  PERFORM custody.require_office_authority(me, f.office, 'cancel transfers');
  IF f.status <> 'in_transit' THEN
    PERFORM custody.refuse(f, 'only a transfer not yet received can be cancelled');
  END IF;
  UPDATE custody.transfer SET ended_at = now(), ended_by = me.login, ended_how = 'cancelled'
   WHERE id = f.open_transfer;
  UPDATE custody.file SET status = 'at_base', status_since = now(), open_transfer = NULL, destination = NULL
   WHERE id = f.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, note)
    VALUES ('transfer_cancelled', request, f.label, f.case_id, f.id, f.base, reason)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.report_missing(request uuid, label text, reason text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'missing', label);
  f custody.file;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(label);
  PERFORM custody.require_text(reason, 'the reason');
  f := custody.lock_file(label);
  IF f.status NOT IN ('at_base', 'checked_out', 'in_transit') THEN
    PERFORM custody.refuse(f, 'only a file that is at its base, checked out or in transit can go missing');
  END IF;
  PERFORM custody.require_office_authority(me, f.office, 'report files missing');
  UPDATE custody.removal SET ended_at = now(), ended_by = me.login, ended_how = 'missing'
   WHERE id = f.open_removal;
  UPDATE custody.transfer SET ended_at = now(), ended_by = me.login, ended_how = 'missing'
   WHERE id = f.open_transfer;
  UPDATE custody.file
     SET status = 'missing', status_since = now(), open_removal = NULL, open_transfer = NULL,
         holder = NULL, destination = NULL
   WHERE id = f.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, note)
    VALUES ('missing', request, f.label, f.case_id, f.id, f.base, reason)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.found(request uuid, label text, found_at text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'found', label);
  f custody.file;
  place custody.secure_base;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(label);
  place := custody.require_secure_base(found_at);
  f := custody.lock_file(label);
  PERFORM custody.require_office_authority(me, f.office, 'record files found');
  IF place.office <> f.office AND me.role <> 'director' THEN
    RAISE EXCEPTION '% belongs to office %; a file found at % (office %) is recorded by a director',
      f.label, f.office, place.id, place.office
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'or record it found at one of your office''s secure bases and transfer it';
  END IF;
  IF f.status <> 'missing' THEN
    PERFORM custody.refuse(f, 'only a missing file can be found');
  END IF;
  UPDATE custody.file
     SET status = 'at_base', status_since = now(), base = place.id, office = place.office
   WHERE id = f.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base)
    VALUES ('found', request, f.label, f.case_id, f.id, place.id)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- Privileges: staff read (row-level security narrows what they see) and call the API; they write
-- nothing directly.
GRANT SELECT ON custody.office, custody.staff, custody.secure_base, custody.case_record, custody.case_child,
  custody.file, custody.removal, custody.transfer, custody.event TO custody_staff;
GRANT EXECUTE ON FUNCTION
  custody.local_time(timestamptz), custody.is_label(text), custody.is_office_code(text),
  custody.is_login(text), custody.is_text(text, integer), custody.is_email(text),
  custody.office_add(uuid, text, text, text),
  custody.staff_add(uuid, text, text, text, text, text, boolean, text),
  custody.case_open(uuid, text, text, text, text, date[], text),
  custody.case_allocate(uuid, text, text),
  custody.case_classify(uuid, text, text, text),
  custody.file_register(uuid, text, integer, text, text),
  custody.checkout(uuid, text, text, timestamptz),
  custody.extend(uuid, text, timestamptz, text),
  custody.return_file(uuid, text),
  custody.transfer(uuid, text, text, text, timestamptz, text, text, text, text),
  custody.receive(uuid, text, text, text),
  custody.cancel_transfer(uuid, text, text),
  custody.report_missing(uuid, text, text),
  custody.found(uuid, text, text)
  TO custody_staff;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA custody FROM PUBLIC;
