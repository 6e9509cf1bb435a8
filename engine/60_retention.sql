-- The policy's clocks: retention until the youngest child is 22 (8.1), police information for 18
-- months or to the end of proceedings unless the police permit longer (8.3), holds for reviews
-- (8.2), cases closed before 1 April 2009 listed for review (9.1). Destruction is an event; nothing
-- is deleted.
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

-- The day someone born on `born` turns 22; for 29 February, 1 March (the later reading, so no
-- record is destroyed before the child is unquestionably 22).
CREATE OR REPLACE FUNCTION custody.twenty_second_birthday(born date) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE WHEN extract(month FROM born) = 2 AND extract(day FROM born) = 29
                THEN make_date(extract(year FROM born)::integer + 22, 3, 1)
                ELSE (born + interval '22 years')::date END
  $$;

-- A closed case's destruction date: its youngest child's 22nd birthday. NULL while the case is
-- open, and for cases closed before 1 April 2009, which are listed for review instead (9.1).
CREATE OR REPLACE FUNCTION custody.case_destruction_on(the_case custody.case_record) RETURNS date
  LANGUAGE sql STABLE
  SET search_path = custody, pg_temp
  AS $$
    SELECT CASE WHEN the_case.closed_on >= date '2009-04-01'
                THEN (SELECT custody.twenty_second_birthday(max(k.born))
                        FROM custody.case_child k WHERE k.case_id = the_case.id) END
  $$;

-- Police information is due 18 months after receipt or at the end of proceedings, whichever is
-- sooner; a police permission moves the date to the one permitted.
CREATE OR REPLACE FUNCTION custody.police_info_due_on(received_on date, permitted_until date, proceedings_ended_on date)
  RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT coalesce(permitted_until, least((received_on + interval '18 months')::date, proceedings_ended_on))
  $$;

CREATE OR REPLACE FUNCTION custody.hold_place(request uuid, number text, reason text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'hold_placed', number);
  the_case custody.case_record;
  held custody.hold;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_text(reason, 'the reason');
  the_case := custody.lock_case(number);
  PERFORM custody.require_office_authority(me, the_case.office, 'place holds');
  held := custody.active_hold(the_case.id);
  IF held.id IS NOT NULL THEN
    RAISE EXCEPTION 'case % is already on hold since % (%)', number, custody.local_time(held.placed_at), held.reason
      USING ERRCODE = 'U0001';
  END IF;
  INSERT INTO custody.hold (case_id, reason) VALUES (the_case.id, reason);
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, note)
    VALUES ('hold_placed', request, number, the_case.id, the_case.office, reason)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE OR REPLACE FUNCTION custody.hold_release(request uuid, number text, reason text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'hold_released', number);
  the_case custody.case_record;
  held custody.hold;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_text(reason, 'the reason');
  the_case := custody.lock_case(number);
  PERFORM custody.require_office_authority(me, the_case.office, 'release holds');
  held := custody.active_hold(the_case.id);
  IF held.id IS NULL THEN
    RAISE EXCEPTION 'case % is not on hold', number USING ERRCODE = 'U0001';
  END IF;
  UPDATE custody.hold h SET released_at = now(), released_by = me.login, release_reason = hold_release.reason
   WHERE h.id = held.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, note)
    VALUES ('hold_released', request, number, the_case.id, the_case.office, reason)
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

CREATE OR REPLACE FUNCTION custody.police_info_permit(request uuid, item bigint, until date, reference text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'police_info_permitted', item::text);
  info custody.police_info;
  the_case custody.case_record;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_text(reference, 'the police reference', 200);
  info := custody.lock_police_info(item);
  SELECT * INTO the_case FROM custody.case_record c WHERE c.id = info.case_id;
  PERFORM custody.require_office_authority(me, the_case.office, 'record police permissions');
  IF info.destroyed_at IS NOT NULL THEN
    RAISE EXCEPTION 'police information % was destroyed on %', item, custody.local_time(info.destroyed_at)
      USING ERRCODE = 'U0001';
  END IF;
  IF until IS NULL OR until <= info.received_on THEN
    RAISE EXCEPTION 'the permitted date must be after the information was received (%)', info.received_on
      USING ERRCODE = 'U0003';
  END IF;
  UPDATE custody.police_info p SET permitted_until = until, permit_reference = reference WHERE p.id = item;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, on_date, reference, item)
    VALUES ('police_info_permitted', request, item::text, the_case.id, the_case.office, until, reference, item)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE OR REPLACE FUNCTION custody.police_info_destroy(request uuid, item bigint, witness text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'police_info_destroyed', item::text);
  info custody.police_info;
  the_case custody.case_record;
  due date;
  held custody.hold;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_witness(me, witness);
  info := custody.lock_police_info(item);
  SELECT * INTO the_case FROM custody.case_record c WHERE c.id = info.case_id FOR UPDATE;
  PERFORM custody.require_office_authority(me, the_case.office, 'destroy police information');
  IF info.destroyed_at IS NOT NULL THEN
    RAISE EXCEPTION 'police information % was destroyed on %', item, custody.local_time(info.destroyed_at)
      USING ERRCODE = 'U0001';
  END IF;
  held := custody.active_hold(the_case.id);
  IF held.id IS NOT NULL THEN
    RAISE EXCEPTION 'case % is on hold (%): nothing on it may be destroyed', the_case.number, held.reason
      USING ERRCODE = 'U0001';
  END IF;
  due := custody.police_info_due_on(info.received_on, info.permitted_until, the_case.proceedings_ended_on);
  IF due > current_date THEN
    RAISE EXCEPTION 'police information % is not due for destruction until %', item, due USING ERRCODE = 'U0001';
  END IF;
  UPDATE custody.police_info p SET destroyed_at = now(), destroyed_by = me.login, witness = police_info_destroy.witness
   WHERE p.id = item;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, witness, item)
    VALUES ('police_info_destroyed', request, item::text, the_case.id, the_case.office, witness, item)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE OR REPLACE FUNCTION custody.destroy(request uuid, label text, witness text, certificate text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'destroyed', label);
  f custody.file;
  the_case custody.case_record;
  due date;
  held custody.hold;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(label);
  PERFORM custody.require_witness(me, witness);
  PERFORM custody.require_text(certificate, 'the certificate', 200);
  f := custody.lock_file(label);
  SELECT * INTO the_case FROM custody.case_record c WHERE c.id = f.case_id FOR UPDATE;
  PERFORM custody.require_office_authority(me, f.office, 'destroy files');
  IF f.status <> 'at_base' THEN
    PERFORM custody.refuse(f, 'only a file at its secure base can be destroyed');
  END IF;
  IF the_case.closed_on IS NULL THEN
    RAISE EXCEPTION 'case % is not closed: its files are kept', the_case.number USING ERRCODE = 'U0001';
  END IF;
  due := custody.case_destruction_on(the_case);
  IF due IS NULL THEN
    RAISE EXCEPTION 'case % was closed on %, before 1 April 2009: it is listed for review, not destruction',
      the_case.number, the_case.closed_on
      USING ERRCODE = 'U0001';
  END IF;
  IF due > current_date THEN
    RAISE EXCEPTION 'case % is retained until % (its youngest child''s 22nd birthday)', the_case.number, due
      USING ERRCODE = 'U0001';
  END IF;
  held := custody.active_hold(the_case.id);
  IF held.id IS NOT NULL THEN
    RAISE EXCEPTION 'case % is on hold (%): nothing on it may be destroyed', the_case.number, held.reason
      USING ERRCODE = 'U0001';
  END IF;
  UPDATE custody.file SET status = 'destroyed', status_since = now() WHERE id = f.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, witness, certificate)
    VALUES ('destroyed', request, f.label, f.case_id, f.id, f.base, witness, certificate)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

GRANT EXECUTE ON FUNCTION
  custody.twenty_second_birthday(date),
  custody.case_destruction_on(custody.case_record),
  custody.police_info_due_on(date,date,date),
  custody.hold_place(uuid,text,text),
  custody.hold_release(uuid,text,text),
  custody.police_info_add(uuid,text,date),
  custody.police_info_permit(uuid,bigint,date,text),
  custody.police_info_destroy(uuid,bigint,text),
  custody.destroy(uuid,text,text,text)
  TO custody_staff;
