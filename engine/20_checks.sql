-- What every function of the custody API checks: who is acting, whether a request was seen
-- before, values, times, offices, staff and secure bases, and the locks every move queues on.
--
-- Errors use these SQLSTATEs, which the client maps to its exit codes:
--   U0001  refused by the custody rules (the state does not allow it)
--   U0002  not found
--   U0003  invalid value
--   42501  permission denied
--
-- The helpers run inside the API functions' pinned search_path and name every object with its
-- schema, so they need no search_path of their own; setting one costs every call. Staff cannot
-- call them, but for the few granted at the end, which readers that run with the caller's rights use.
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

-- Times shown in messages, in the session's zone and the tables' own format (2026-12-01 22:21);
-- an infinite time is shown as such.
CREATE OR REPLACE FUNCTION custody.local_time(t timestamptz) RETURNS text
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT CASE WHEN NOT isfinite(t) THEN t::text ELSE to_char(t, 'YYYY-MM-DD HH24:MI') END
  $$;

CREATE OR REPLACE FUNCTION custody.current_staff() RETURNS custody.staff
  LANGUAGE plpgsql STABLE
  AS $$
DECLARE
  me custody.staff;
BEGIN
  SELECT * INTO me FROM custody.staff WHERE login = custody.session_login();
  IF NOT FOUND THEN
    RAISE EXCEPTION 'you are logged in as %, who is not a member of staff', session_user
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'a director or your office manager can add you with ''custody staff add''';
  END IF;
  IF me.deactivated_at IS NOT NULL THEN
    RAISE EXCEPTION 'your login % was deactivated on % by %', me.login, custody.local_time(me.deactivated_at),
      me.deactivated_by
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN me;
END
$$;

-- Business support, office managers and service managers act for their own office; directors for any.
CREATE OR REPLACE FUNCTION custody.has_office_authority(me custody.staff, office_code text) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$
    SELECT me.role = 'director'
        OR (me.office = office_code AND me.role IN ('business-support', 'office-manager', 'service-manager'))
  $$;

CREATE OR REPLACE FUNCTION custody.require_office_authority(me custody.staff, office_code text, action text)
  RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF NOT custody.has_office_authority(me, office_code) THEN
    RAISE EXCEPTION '% (%, %) may not % for office %', me.login, me.role, me.office, action, office_code
      USING ERRCODE = 'insufficient_privilege',
            HINT = format('business support, office managers and service managers of %s, or a director, may', office_code);
  END IF;
END
$$;

-- Calls with the same request id queue on this lock, so a retry never records twice.
CREATE OR REPLACE FUNCTION custody.lock_request(request uuid) RETURNS void
  LANGUAGE sql
  AS $$ SELECT pg_catalog.pg_advisory_xact_lock(1131373620, pg_catalog.hashtext(request::text)) $$;

CREATE OR REPLACE FUNCTION custody.replayed(request uuid, expected_kind text, expected_subject text) RETURNS bigint
  LANGUAGE plpgsql
  AS $$
DECLARE
  earlier custody.event;
BEGIN
  IF request IS NULL THEN
    RAISE EXCEPTION 'a request id is required' USING ERRCODE = 'U0003';
  END IF;
  PERFORM custody.lock_request(request);
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

-- Value checks with messages that say what is wrong. The rules themselves are the is_* functions
-- of migrations/0001_organisation.sql.
CREATE OR REPLACE FUNCTION custody.require_text(value text, field text, max_length integer DEFAULT 2000)
  RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  AS $$
BEGIN
  IF value IS NULL OR NOT custody.is_text(value, max_length) THEN
    RAISE EXCEPTION '% must be 1 to % characters of text, not blank, without control, bidirectional or line-separator characters (tab is allowed)',
      field, to_char(max_length, 'FM9,999')
      USING ERRCODE = 'U0003';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION custody.require_label(value text, what text DEFAULT 'label') RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  AS $$
BEGIN
  IF value IS NULL OR NOT custody.is_label(value) THEN
    RAISE EXCEPTION '"%" is not a valid %', value, what
      USING ERRCODE = 'U0003',
            HINT = 'use 1 to 40 upper-case letters, digits, ''-'' and ''/'', starting with a letter or digit';
  END IF;
END
$$;

-- A return, an extension or an expected arrival: in the future, and at most 366 days ahead
-- (never infinity).
CREATE OR REPLACE FUNCTION custody.is_due_time(t timestamptz) RETURNS boolean
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

CREATE OR REPLACE FUNCTION custody.require_office(code text) RETURNS custody.office
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

CREATE OR REPLACE FUNCTION custody.require_login(login text) RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  AS $$
BEGIN
  IF login IS NULL OR NOT custody.is_login(login) THEN
    RAISE EXCEPTION '"%" is not a valid login', login
      USING ERRCODE = 'U0003',
            HINT = 'a login is up to 63 lower-case letters, digits, ''_'', ''.'' and ''-'', starting with a letter';
  END IF;
END
$$;

-- The group role that carries a staff role's privileges: custody_office_manager for office-manager.
CREATE OR REPLACE FUNCTION custody.staff_group(role text) RETURNS text
  LANGUAGE sql IMMUTABLE
  RETURN 'custody_' || replace(role, '-', '_');

CREATE OR REPLACE FUNCTION custody.require_staff(login text) RETURNS custody.staff
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
  IF member.deactivated_at IS NOT NULL THEN
    RAISE EXCEPTION '% left: their login was deactivated on %', login, custody.local_time(member.deactivated_at)
      USING ERRCODE = 'U0001';
  END IF;
  RETURN member;
END
$$;

CREATE OR REPLACE FUNCTION custody.require_secure_base(id text) RETURNS custody.secure_base
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
  IF place.closed_at IS NOT NULL THEN
    RAISE EXCEPTION 'the home base % was closed on %', id, custody.local_time(place.closed_at)
      USING ERRCODE = 'U0001', HINT = 'its worker is office-based now: send files to their office';
  END IF;
  RETURN place;
END
$$;

-- Locks the file's row for the rest of the transaction: every move of one file queues here.
CREATE OR REPLACE FUNCTION custody.lock_file(label text) RETURNS custody.file
  LANGUAGE plpgsql
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
CREATE OR REPLACE FUNCTION custody.state_phrase(f custody.file) RETURNS text
  LANGUAGE sql STABLE
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

CREATE OR REPLACE FUNCTION custody.refuse(f custody.file, hint text) RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  RAISE EXCEPTION '% %', f.label, custody.state_phrase(f)
    USING ERRCODE = 'U0001', HINT = hint;
END
$$;

-- The holder, or staff answerable for the file's office, may change or end a removal.
CREATE OR REPLACE FUNCTION custody.require_holder_or_office(me custody.staff, f custody.file, r custody.removal, action text)
  RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF r.holder = me.login THEN
    RETURN;
  END IF;
  PERFORM custody.require_office_authority(me, f.office, action || ' on behalf of ' || r.holder);
END
$$;

-- A file at an office, or at the login's own home base, is anyone's to take out who may see it; a
-- file at someone else's home base leaves it only with that worker or by staff answerable for the
-- office (checkout says who).
CREATE OR REPLACE FUNCTION custody.is_open_base(base text, office text) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN base = office OR base = 'home:' || custody.session_login();

-- A label or case number that begins with an office's code (NTH-000001, NTH/2026/0001) belongs to
-- that office: another office may not take it.
CREATE OR REPLACE FUNCTION custody.require_own_prefix(value text, what text, office_code text) RETURNS void
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

CREATE OR REPLACE FUNCTION custody.lock_case(number text) RETURNS custody.case_record
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  locked custody.case_record;
BEGIN
  PERFORM custody.require_label(number, 'case number');
  SELECT * INTO locked FROM custody.case_record c WHERE c.number = lock_case.number FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no case %', number USING ERRCODE = 'U0002';
  END IF;
  RETURN locked;
END
$$;

CREATE OR REPLACE FUNCTION custody.require_past_or_today(day date, what text) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF day IS NULL OR day > current_date THEN
    RAISE EXCEPTION '% cannot be in the future (% is)', what, day USING ERRCODE = 'U0003';
  END IF;
END
$$;

-- A date given for a case may not precede its opening.
CREATE OR REPLACE FUNCTION custody.require_not_before_opening(the_case custody.case_record, day date, what text)
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

-- The witness to a destruction is another member of staff.
CREATE OR REPLACE FUNCTION custody.require_witness(me custody.staff, witness text) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF witness IS NULL OR witness = me.login THEN
    RAISE EXCEPTION 'the witness must be another member of staff (not %)', coalesce(witness, 'nobody')
      USING ERRCODE = 'U0003';
  END IF;
  PERFORM custody.require_staff(witness);
END
$$;

CREATE OR REPLACE FUNCTION custody.active_hold(case_id bigint) RETURNS custody.hold
  LANGUAGE sql STABLE
  SET search_path = custody, pg_temp
  AS $$ SELECT * FROM custody.hold h WHERE h.case_id = active_hold.case_id AND h.released_at IS NULL $$;

CREATE OR REPLACE FUNCTION custody.lock_police_info(item bigint) RETURNS custody.police_info
  LANGUAGE plpgsql
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  locked custody.police_info;
BEGIN
  SELECT * INTO locked FROM custody.police_info p WHERE p.id = item FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no police information %', item USING ERRCODE = 'U0002';
  END IF;
  RETURN locked;
END
$$;

GRANT EXECUTE ON FUNCTION
  custody.local_time(timestamp with time zone),
  custody.require_label(text, text),
  custody.require_office(text)
  TO custody_staff;
