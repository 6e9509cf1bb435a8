-- Moving files: the checkout and the rules on times and secure bases it keeps. Applied after the
-- versioned migrations whenever this file changes; each object here is defined once.

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

-- A file at an office, or at the login's own home base, is anyone's to take out who may see it; a
-- file at someone else's home base leaves it only with that worker or by staff answerable for the
-- office (checkout says who).
CREATE OR REPLACE FUNCTION custody.is_open_base(base text, office text) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN base = office OR base = 'home:' || custody.session_login();

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
