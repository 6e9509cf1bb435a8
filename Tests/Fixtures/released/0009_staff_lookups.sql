-- Staff lookups by login use the primary key, and a return closes its cursor.
--
-- session_user is of type name, whose collation is "C"; compared with a text column of the
-- database's default collation, the comparison cannot use that column's index, so every
-- "login = session_user" read the whole staff table (0.6 ms at 2,000 staff, several times in
-- each command, and more under row-level security). custody.session_login() is the login as text
-- in the default collation, which the indexes on logins can answer.
CREATE FUNCTION custody.session_login() RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN (session_user::text COLLATE "default");

GRANT EXECUTE ON FUNCTION custody.session_login() TO custody_staff;

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
  RETURN me;
END
$$;

CREATE OR REPLACE FUNCTION custody.viewer_sees_all() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (SELECT FROM custody.staff s WHERE s.login = custody.session_login() AND s.role = 'director')
      OR custody.session_is_owner();
END
$$;

CREATE OR REPLACE FUNCTION custody.viewer_office() RETURNS text
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN (SELECT s.office FROM custody.staff s WHERE s.login = custody.session_login());
END
$$;

CREATE OR REPLACE FUNCTION custody.viewer_is_office_staff() RETURNS boolean
  LANGUAGE plpgsql STABLE PARALLEL SAFE
  AS $$
BEGIN
  RETURN EXISTS (
    SELECT FROM custody.staff s
     WHERE s.login = custody.session_login() AND s.role IN ('business-support', 'office-manager', 'service-manager'));
END
$$;

-- A checkout takes one statement in the usual case: it locks, changes and records the file if
-- row-level security shows it to the login, the file is at its base, the login is a member of
-- staff and the request id is new. Otherwise it goes the careful way, in the order every command
-- checks (member of staff, replay, values, the file and its state), which says what is wrong or,
-- when the file has come back to its base meanwhile, locks it and checks it out.
CREATE OR REPLACE FUNCTION custody.checkout(request uuid, label text, whereabouts text, return_by timestamptz)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  careful boolean := NOT (request IS NOT NULL AND custody.is_label(checkout.label)
                          AND custody.is_text(checkout.whereabouts) AND return_by > now());
  me custody.staff;
  replay bigint;
  f custody.file;
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
    ELSE
      PERFORM custody.lock_request(request);
    END IF;
    WITH moved AS (
      UPDATE custody.file
         SET status = 'checked_out', status_since = now(), open_removal = removal_id, holder = session_user
       WHERE file.label = checkout.label AND file.status = 'at_base'
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

-- A return locks the file through a cursor and changes it WHERE CURRENT OF, which reads no column:
-- the file need not stay visible to the login once returned, as a holder may see it only while
-- holding it (its case made confidential meanwhile, say). In the usual case the cursor also checks
-- membership of staff and the request id, and one statement writes the file, the removal and the
-- event; otherwise the careful way, as for a checkout.
-- The cursor is closed once the return is written: a bound cursor's portal is named after it, so
-- one left open made a second return in the same transaction fail (cursor "held" already in use).
CREATE OR REPLACE FUNCTION custody.return_file(request uuid, label text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  careful boolean := NOT (request IS NOT NULL AND custody.is_label(return_file.label));
  me custody.staff;
  replay bigint;
  f custody.file;
  -- Row-level security decides which file the login may see and so return.
  held CURSOR FOR
    SELECT * FROM custody.file
     WHERE file.label = return_file.label AND file.status = 'checked_out'
       AND EXISTS (SELECT FROM custody.staff s WHERE s.login = custody.session_login())
       AND NOT EXISTS (SELECT FROM custody.event e WHERE e.request_id = return_file.request)
       FOR UPDATE;
  event_id bigint;
BEGIN
  LOOP
    IF careful THEN
      me := custody.current_staff();
      replay := custody.replayed(request, 'returned', return_file.label);
      IF replay IS NOT NULL THEN
        RETURN replay;
      END IF;
      f := custody.lock_file(return_file.label);
      IF f.status <> 'checked_out' THEN
        PERFORM custody.refuse(f, 'only a checked-out file can be returned');
      END IF;
    ELSE
      PERFORM custody.lock_request(request);
    END IF;
    OPEN held;
    FETCH held INTO f;
    EXIT WHEN FOUND;
    CLOSE held;
    IF careful THEN
      RAISE EXCEPTION '% was locked checked out but not returned', return_file.label;
    END IF;
    careful := true;
  END LOOP;
  -- The file carries its open removal's holder.
  IF f.holder <> session_user THEN
    IF NOT careful THEN
      me := custody.current_staff();
    END IF;
    PERFORM custody.require_office_authority(me, f.office, 'return a file on behalf of ' || f.holder);
  END IF;
  WITH moved AS (
    UPDATE custody.file SET status = 'at_base', status_since = now(), open_removal = NULL, holder = NULL
     WHERE CURRENT OF held
  ), closed AS (
    UPDATE custody.removal SET ended_at = now(), ended_by = session_user, ended_how = 'returned'
     WHERE id = f.open_removal
  )
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder)
  VALUES ('returned', request, f.label, f.case_id, f.id, f.base, f.holder)
  RETURNING id INTO event_id;
  CLOSE held;
  RETURN event_id;
END
$$;
