-- A return closes its cursor once it has written: a bound cursor's portal is named after it, so
-- one left open made a second return in the same transaction fail: cursor "held" already in use.
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
       AND EXISTS (SELECT FROM custody.staff s WHERE s.login = session_user)
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

