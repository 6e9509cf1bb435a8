-- Access rules that hold under every install, and the checks that say when they would not.
--
-- Row-level security binds the custody API only while its owner is subject to it; `custody
-- migrate` hands the schema to such a role (see Sources/Custody/Install.swift), and every command
-- asks custody.install_state() before acting. Inside the API, what a login sees is decided by the
-- login (session_user) alone: the owner's own read policies on removals, transfers and events,
-- which let every definer function read every row, are gone. The tally keeps its owner policy:
-- only its trigger reads it that way, and it shows nobody anything.
DROP POLICY removal_api_read ON custody.removal;
DROP POLICY transfer_api_read ON custody.transfer;
DROP POLICY event_api_read ON custody.event;

-- An event is seen with its file or case. The policy asks through these functions, which plan
-- their lookup once per session, instead of carrying the file's and the case's own policies in
-- every statement that reads or appends an event: the custody API's checkout and return read the
-- events (is the request id new?) and append them in every call.
CREATE FUNCTION custody.sees_file(id bigint) RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (SELECT FROM custody.file f WHERE f.id = sees_file.id);
END
$$;

CREATE FUNCTION custody.sees_case(id bigint) RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (SELECT FROM custody.case_record c WHERE c.id = sees_case.id);
END
$$;
GRANT EXECUTE ON FUNCTION custody.sees_file(bigint), custody.sees_case(bigint) TO custody_staff;

DROP POLICY event_read ON custody.event;
CREATE POLICY event_read ON custody.event FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR actor = session_user
  OR CASE
       WHEN file_id IS NOT NULL THEN custody.sees_file(file_id)
       WHEN case_id IS NOT NULL THEN custody.sees_case(case_id)
       ELSE true
     END
);

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

DROP POLICY file_read ON custody.file;
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
CREATE FUNCTION custody.install_state(OUT owner text, OUT problems text[])
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

-- Times shown in messages; an infinite time is shown as such.
CREATE OR REPLACE FUNCTION custody.local_time(t timestamptz) RETURNS text
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT CASE WHEN NOT isfinite(t) THEN t::text
                WHEN date_trunc('year', t) = date_trunc('year', now())
                THEN to_char(t, 'DD Mon HH24:MI')
                ELSE to_char(t, 'DD Mon YYYY HH24:MI') END
  $$;

-- A return, an extension or an expected arrival: in the future, and at most 366 days ahead
-- (never infinity).
CREATE FUNCTION custody.is_due_time(t timestamptz) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN t > now() AND t <= now() + interval '366 days';

CREATE OR REPLACE FUNCTION custody.require_future(t timestamptz, what text) RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF t IS NULL OR t <= now() THEN
    RAISE EXCEPTION '% must be in the future (% is not)', what, coalesce(custody.local_time(t), 'none')
      USING ERRCODE = 'U0003';
  END IF;
  IF NOT custody.is_due_time(t) THEN
    RAISE EXCEPTION '% must be at most 366 days ahead (% is not)', what, custody.local_time(t)
      USING ERRCODE = 'U0003', HINT = 'give a nearer time, and extend it when the time comes';
  END IF;
END
$$;

-- A file at an office, or at the login's own home base, is anyone's to take out who may see it; a
-- file at someone else's home base leaves it only with that worker or by staff answerable for the
-- office (checkout says who).
CREATE FUNCTION custody.is_open_base(base text, office text) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN base = office OR base = 'home:' || custody.session_login();

-- A label or case number that begins with an office's code (NTH-000001, NTH/2026/0001) belongs to
-- that office: another office may not take it.
CREATE FUNCTION custody.require_own_prefix(value text, what text, office_code text) RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
DECLARE
  prefix text := substring(value FROM '^([A-Z0-9]{2,8})[-/]');
BEGIN
  IF prefix IS NOT NULL AND prefix <> office_code
     AND EXISTS (SELECT FROM custody.office o WHERE o.code = prefix) THEN
    RAISE EXCEPTION '% % begins with %, the code of office %: it cannot name one of office %',
      what, value, prefix, prefix, office_code
      USING ERRCODE = 'U0003', HINT = format('use a %s beginning with %s, or none of an office''s codes', what, office_code);
  END IF;
END
$$;

-- A date given for a case may not precede its opening.
CREATE FUNCTION custody.require_not_before_opening(the_case custody.case_record, day date, what text)
  RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF day < the_case.opened_at::date THEN
    RAISE EXCEPTION '% (%) cannot be before case % was opened (%)', what, day, the_case.number, the_case.opened_at::date
      USING ERRCODE = 'U0003';
  END IF;
END
$$;

-- Staff: the owner and directors add anyone; an office manager adds practitioners, family support
-- workers and business support to their own office. A PostgreSQL role that already exists becomes
-- a staff login only when the owner or a director says so (adopt).
DROP FUNCTION custody.staff_add(uuid, text, text, text, text, text, boolean, text);
CREATE FUNCTION custody.staff_add(
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

-- A case number is unique across the agency: a taken one is answered the same whether or not the
-- login may see its case, and never in the database's own words.
CREATE OR REPLACE FUNCTION custody.case_open(
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
  PERFORM custody.require_own_prefix(number, 'case number', office);
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
  BEGIN
    INSERT INTO custody.case_record (number, office, law, classification, practitioner)
      VALUES (number, office, law, classification, practitioner)
      RETURNING id INTO new_case;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'case % already exists', number USING ERRCODE = 'U0001';
  END;
  INSERT INTO custody.case_child (case_id, born) SELECT new_case, born FROM unnest(children_born) born;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, holder)
    VALUES ('case_opened', request, number, new_case, office, practitioner)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- A label is unique across the agency. Numbering skips a taken label whether or not the login may
-- see its file, and a given label that is taken is answered the same either way.
CREATE OR REPLACE FUNCTION custody.file_register(
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
  taken text;
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
  IF label IS NOT NULL THEN
    PERFORM custody.require_own_prefix(label, 'label', the_case.office);
  END IF;
  IF new_volume IS NULL THEN
    SELECT coalesce(max(f.volume), 0) + 1 INTO new_volume FROM custody.file f WHERE f.case_id = the_case.id;
  END IF;
  LOOP
    IF label IS NULL THEN
      UPDATE custody.office o SET next_label = o.next_label + 1
       WHERE o.code = the_case.office
       RETURNING o.next_label - 1 INTO serial;
      new_label := the_case.office || '-' || lpad(serial::text, 6, '0');
      CONTINUE WHEN EXISTS (SELECT FROM custody.file f WHERE f.label = new_label);
    END IF;
    BEGIN
      INSERT INTO custody.file (label, case_id, volume, kind, base, office, case_office, confidential, practitioner)
        VALUES (new_label, the_case.id, new_volume, kind, the_case.office, the_case.office, the_case.office,
                the_case.classification = 'confidential', the_case.practitioner)
        RETURNING id INTO new_file;
      EXIT;
    EXCEPTION WHEN unique_violation THEN
      GET STACKED DIAGNOSTICS taken = CONSTRAINT_NAME;
      IF taken = 'file_volume_unique' THEN
        IF volume IS NOT NULL THEN
          RAISE EXCEPTION 'case % already has a volume %', case_number, new_volume USING ERRCODE = 'U0001';
        END IF;
        new_volume := new_volume + 1;
      ELSIF label IS NOT NULL THEN
        RAISE EXCEPTION 'the label % is already in use', new_label USING ERRCODE = 'U0001';
      END IF;
    END;
  END LOOP;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base)
    VALUES ('registered', request, coalesce(label, case_number), the_case.id, new_file, the_case.office)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- A checkout takes one statement in the usual case: it locks, changes and records the file if
-- row-level security shows it to the login, the file is at an office or the login's own home base,
-- the login is a member of staff, the request id is new and the return time is within 366 days.
-- Otherwise it goes the careful way, in the order every command checks (member of staff, replay,
-- values, the file, its state and its base), which says what is wrong or, when the file has come
-- back to its base meanwhile, locks it and checks it out. A file kept at a home base leaves it only
-- with that worker, or by those answerable for the office.
CREATE OR REPLACE FUNCTION custody.checkout(request uuid, label text, whereabouts text, return_by timestamptz)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  careful boolean := NOT (request IS NOT NULL AND custody.is_label(checkout.label)
                          AND custody.is_text(checkout.whereabouts) AND custody.is_due_time(return_by));
  me custody.staff;
  replay bigint;
  f custody.file;
  from_home boolean := false;
  removal_id bigint := nextval('custody.removal_id_seq');
  event_id bigint;
BEGIN
  LOOP
    IF careful THEN
      me := custody.current_staff();
      replay := custody.replayed(request, 'checked_out', checkout.label);
      IF replay IS NOT NULL THEN
        RETURN replay;
      END IF;
      PERFORM custody.require_label(checkout.label);
      PERFORM custody.require_text(checkout.whereabouts, 'the whereabouts');
      PERFORM custody.require_future(return_by, 'the return time');
      -- Anyone may check out a file they can see (row-level security decides what that is).
      f := custody.lock_file(checkout.label);
      IF f.status <> 'at_base' THEN
        PERFORM custody.refuse(f, 'only a file at its secure base can be checked out');
      END IF;
      IF NOT custody.is_open_base(f.base, f.office) THEN
        IF NOT custody.has_office_authority(me, f.office) THEN
          RAISE EXCEPTION '% is kept at the home base %; only that worker or the business support of % may take it out',
            f.label, f.base, f.office
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        from_home := true;
      END IF;
    ELSE
      PERFORM custody.lock_request(request);
    END IF;
    WITH moved AS (
      UPDATE custody.file
         SET status = 'checked_out', status_since = now(), open_removal = removal_id, holder = session_user
       WHERE file.label = checkout.label AND file.status = 'at_base'
         AND (custody.is_open_base(file.base, file.office) OR from_home)
         AND EXISTS (SELECT FROM custody.staff s WHERE s.login = custody.session_login())
         AND NOT EXISTS (SELECT FROM custody.event e WHERE e.request_id = checkout.request)
      RETURNING file.id, file.label, file.case_id, file.office, file.base
    ), opened AS (
      INSERT INTO custody.removal (id, file_id, office, holder, whereabouts, expected_return)
      OVERRIDING SYSTEM VALUE
      SELECT removal_id, moved.id, moved.office, session_user, checkout.whereabouts, return_by FROM moved
    )
    INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder, whereabouts, expected_at)
    SELECT 'checked_out', request, moved.label, moved.case_id, moved.id, moved.base, session_user,
           checkout.whereabouts, return_by
      FROM moved
    RETURNING id INTO event_id;
    EXIT WHEN event_id IS NOT NULL;
    IF careful THEN
      RAISE EXCEPTION '% was locked at its secure base but not checked out', checkout.label;
    END IF;
    careful := true;
  END LOOP;
  RETURN event_id;
END
$$;

-- The end of the work and of proceedings may not precede the case's opening.
CREATE OR REPLACE FUNCTION custody.case_end(request uuid, number text, ended_on date, proceedings_ended_on date DEFAULT NULL)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'case_ended', number);
  the_case custody.case_record;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_past_or_today(ended_on, 'the end of the work');
  PERFORM custody.require_past_or_today(coalesce(proceedings_ended_on, ended_on), 'the end of proceedings');
  the_case := custody.lock_case(number);
  PERFORM custody.require_office_authority(me, the_case.office, 'end cases');
  PERFORM custody.require_not_before_opening(the_case, ended_on, 'the end of the work');
  PERFORM custody.require_not_before_opening(the_case, proceedings_ended_on, 'the end of proceedings');
  IF the_case.ended_on IS NOT NULL THEN
    RAISE EXCEPTION 'case % already ended on %', number, the_case.ended_on
      USING ERRCODE = 'U0001', HINT = 'reopen it first to record a different end';
  END IF;
  UPDATE custody.case_record c
     SET ended_on = case_end.ended_on, proceedings_ended_on = coalesce(case_end.proceedings_ended_on, case_end.ended_on)
   WHERE c.id = the_case.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, on_date)
    VALUES ('case_ended', request, number, the_case.id, the_case.office, ended_on)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- A closure may precede neither the case's opening nor its end.
CREATE OR REPLACE FUNCTION custody.case_close(request uuid, number text, closed_on date)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'case_closed', number);
  the_case custody.case_record;
  away text;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_past_or_today(closed_on, 'the closure date');
  the_case := custody.lock_case(number);
  PERFORM custody.require_office_authority(me, the_case.office, 'close cases');
  IF the_case.closed_on IS NOT NULL THEN
    RAISE EXCEPTION 'case % was closed on %', number, the_case.closed_on USING ERRCODE = 'U0001';
  END IF;
  IF the_case.ended_on IS NULL THEN
    RAISE EXCEPTION 'case % has not ended', number
      USING ERRCODE = 'U0001', HINT = 'record the end of the work with ''custody case end'' first';
  END IF;
  PERFORM custody.require_not_before_opening(the_case, closed_on, 'the closure date');
  IF closed_on < the_case.ended_on THEN
    RAISE EXCEPTION 'case % ended on %, after %', number, the_case.ended_on, closed_on USING ERRCODE = 'U0003';
  END IF;
  -- Every volume must be back at its secure base (or destroyed); locking them keeps them there.
  PERFORM 1 FROM custody.file f WHERE f.case_id = the_case.id FOR UPDATE;
  SELECT string_agg(format('%s (%s)', f.label, replace(f.status, '_', ' ')), ', ' ORDER BY f.volume) INTO away
    FROM custody.file f WHERE f.case_id = the_case.id AND f.status NOT IN ('at_base', 'destroyed');
  IF away IS NOT NULL THEN
    RAISE EXCEPTION 'case % cannot close: not every volume is at its secure base: %', number, away
      USING ERRCODE = 'U0001';
  END IF;
  IF NOT EXISTS (SELECT FROM custody.case_child k WHERE k.case_id = the_case.id) THEN
    RAISE EXCEPTION 'case % cannot close without a child''s date of birth, which sets its retention', number
      USING ERRCODE = 'U0001', HINT = 'add one with ''custody case add-child''';
  END IF;
  UPDATE custody.case_record c SET closed_on = case_close.closed_on WHERE c.id = the_case.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, on_date)
    VALUES ('case_closed', request, number, the_case.id, the_case.office, closed_on)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- Police information is received while the case is open, not before.
CREATE OR REPLACE FUNCTION custody.police_info_add(request uuid, number text, received_on date)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'police_info_added', number);
  the_case custody.case_record;
  new_item bigint;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_past_or_today(received_on, 'the date the police information was received');
  the_case := custody.lock_case(number);
  PERFORM custody.require_office_authority(me, the_case.office, 'record police information');
  PERFORM custody.require_not_before_opening(the_case, received_on, 'the date the police information was received');
  INSERT INTO custody.police_info (case_id, received_on) VALUES (the_case.id, received_on)
    RETURNING id INTO new_item;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, on_date, item)
    VALUES ('police_info_added', request, number, the_case.id, the_case.office, received_on, new_item)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- The summary lists the offices whose files the login answers for: their own, or every office for
-- a director. Another office's row would count only what the login happens to see there; and
-- counting one office's files lets the planner keep to that office's indexes.
CREATE OR REPLACE FUNCTION custody.report_summary(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    office text, at_base bigint, checked_out bigint, overdue bigint, in_transit bigint,
    late_transit bigint, missing bigint, closures_overdue bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT o.code,
           coalesce(files.at_base, 0) - coalesce(files.checked_out, removals.out, 0),
           coalesce(files.checked_out, removals.out, 0), coalesce(removals.overdue, 0),
           coalesce(files.in_transit, 0), coalesce(transfers.late, 0), coalesce(files.missing, 0),
           coalesce(closures.overdue, 0)
      FROM custody.office o
      LEFT JOIN (
        -- Those who see every file read the tally, whose at_base includes the checked-out files ...
        SELECT t.office,
               sum(t.files) FILTER (WHERE t.status = 'at_base')::bigint AS at_base,
               NULL::bigint AS checked_out,
               sum(t.files) FILTER (WHERE t.status = 'in_transit')::bigint AS in_transit,
               sum(t.files) FILTER (WHERE t.status = 'missing')::bigint AS missing
          FROM custody.office_tally t
         WHERE (SELECT custody.viewer_sees_all()) AND (office_code IS NULL OR t.office = office_code)
         GROUP BY t.office
        UNION ALL
        -- ... everyone else counts the files they may see.
        SELECT f.office,
               count(*) FILTER (WHERE f.status IN ('at_base', 'checked_out')),
               count(*) FILTER (WHERE f.status = 'checked_out'),
               count(*) FILTER (WHERE f.status = 'in_transit'),
               count(*) FILTER (WHERE f.status = 'missing')
          FROM custody.file f
         WHERE NOT (SELECT custody.viewer_sees_all()) AND f.office = (SELECT custody.viewer_office())
           AND (office_code IS NULL OR f.office = office_code)
         GROUP BY f.office) files ON files.office = o.code
      LEFT JOIN (
        SELECT r.office, count(*) AS out, count(*) FILTER (WHERE r.expected_return < as_of) AS overdue
          FROM custody.removal r
         WHERE (SELECT custody.viewer_sees_all()) AND r.ended_at IS NULL
           AND (office_code IS NULL OR r.office = office_code)
         GROUP BY r.office
        UNION ALL
        SELECT r.office, NULL, count(*)
          FROM custody.removal r
          JOIN custody.file f ON f.id = r.file_id AND f.open_removal = r.id
         WHERE NOT (SELECT custody.viewer_sees_all()) AND r.ended_at IS NULL AND f.status = 'checked_out'
           AND r.expected_return < as_of AND r.office = (SELECT custody.viewer_office())
           AND (office_code IS NULL OR r.office = office_code)
         GROUP BY r.office) removals ON removals.office = o.code
      LEFT JOIN (
        SELECT t.from_office AS office, count(*) AS late
          FROM custody.transfer t
         WHERE t.ended_at IS NULL AND t.expected_by < as_of
           AND (office_code IS NULL OR t.from_office = office_code)
         GROUP BY t.from_office) transfers ON transfers.office = o.code
      LEFT JOIN (
        SELECT c.office, count(*) AS overdue
          FROM custody.case_record c
         WHERE c.ended_on IS NOT NULL AND c.closed_on IS NULL AND c.ended_on + 28 < as_of::date
           AND (office_code IS NULL OR c.office = office_code)
         GROUP BY c.office) closures ON closures.office = o.code
     WHERE (office_code IS NULL OR o.code = office_code)
       AND ((SELECT custody.viewer_sees_all()) OR o.code = (SELECT custody.viewer_office()))
     ORDER BY o.code
  $$;

GRANT EXECUTE ON FUNCTION
  custody.staff_add(uuid, text, text, text, text, text, boolean, text, boolean)
  TO custody_staff;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA custody FROM PUBLIC;
