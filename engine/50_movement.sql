-- The custody API's moves: every change is one call of one of these functions. Each appends one
-- event and updates the current state in the same transaction. They run as the schema owner
-- (SECURITY DEFINER) with a pinned search_path; the actor is always session_user.
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

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
         AND EXISTS (SELECT FROM custody.staff s WHERE s.login = custody.session_login() AND s.deactivated_at IS NULL)
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

CREATE OR REPLACE FUNCTION custody.extend(request uuid, label text, return_by timestamptz, reason text DEFAULT NULL)
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
       AND EXISTS (SELECT FROM custody.staff s WHERE s.login = custody.session_login() AND s.deactivated_at IS NULL)
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

CREATE OR REPLACE FUNCTION custody.transfer(
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
     SET status = 'in_transit', status_since = now(), open_transfer = transfer_id, destination = target.id,
         dispatched_from = f.office
   WHERE id = f.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, expected_at, destination,
                             method, carrier, reference, seal, courier)
    VALUES ('dispatched', request, f.label, f.case_id, f.id, f.base, expected_by, target.id,
            method, carrier, reference, seal, courier)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE OR REPLACE FUNCTION custody.receive(request uuid, label text, seal text DEFAULT NULL, note text DEFAULT NULL)
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

CREATE OR REPLACE FUNCTION custody.cancel_transfer(request uuid, label text, reason text)
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
  -- The state first: a file received meanwhile belongs to its new office, and the sender is told so.
  IF f.status <> 'in_transit' THEN
    PERFORM custody.refuse(f, 'only a transfer not yet received can be cancelled');
  END IF;
  PERFORM custody.require_office_authority(me, f.office, 'cancel transfers');
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

CREATE OR REPLACE FUNCTION custody.report_missing(request uuid, label text, reason text)
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

CREATE OR REPLACE FUNCTION custody.found(request uuid, label text, found_at text)
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

GRANT EXECUTE ON FUNCTION
  custody.checkout(uuid,text,text,timestamp with time zone),
  custody.extend(uuid,text,timestamp with time zone,text),
  custody.return_file(uuid,text),
  custody.transfer(uuid,text,text,text,timestamp with time zone,text,text,text,text),
  custody.receive(uuid,text,text,text),
  custody.cancel_transfer(uuid,text,text),
  custody.report_missing(uuid,text,text),
  custody.found(uuid,text,text)
  TO custody_staff;
