-- The policy's clocks: closure within 28 days of the end of the work (6.2, 7.1), retention until
-- the youngest child is 22 (8.1), police information for 18 months or to the end of proceedings
-- unless the police permit longer (8.3), holds for reviews (8.2), and cases closed before
-- 1 April 2009 listed for review (9.1). Destruction is an event; nothing is deleted.

ALTER TABLE custody.case_record
  ADD COLUMN ended_on date,
  ADD COLUMN proceedings_ended_on date,
  ADD COLUMN closed_on date,
  ADD CONSTRAINT case_closed_after_end CHECK (closed_on IS NULL OR (ended_on IS NOT NULL AND closed_on >= ended_on)),
  ADD CONSTRAINT case_proceedings_with_end CHECK (proceedings_ended_on IS NULL OR ended_on IS NOT NULL);
CREATE INDEX case_record_closure_due ON custody.case_record (office, ended_on)
  WHERE ended_on IS NOT NULL AND closed_on IS NULL;
CREATE INDEX case_record_closed ON custody.case_record (office, closed_on) WHERE closed_on IS NOT NULL;

ALTER TABLE custody.event
  ADD COLUMN witness text,
  ADD COLUMN certificate text,
  ADD COLUMN on_date date,
  ADD COLUMN item bigint,
  DROP CONSTRAINT event_kind_known,
  ADD CONSTRAINT event_kind_known CHECK (kind IN (
    'office_added', 'staff_added', 'case_opened', 'case_allocated', 'case_classified',
    'child_added', 'case_ended', 'case_closed', 'case_reopened',
    'police_info_added', 'police_info_permitted', 'police_info_destroyed', 'hold_placed', 'hold_released',
    'registered', 'checked_out', 'extended', 'returned', 'dispatched', 'received',
    'transfer_cancelled', 'missing', 'found', 'destroyed'));

-- Police information held on a case's file, with its own clock.
CREATE TABLE custody.police_info (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id bigint NOT NULL REFERENCES custody.case_record,
  received_on date NOT NULL,
  permitted_until date,
  permit_reference text CONSTRAINT police_info_reference_text CHECK (custody.is_text(permit_reference, 200)),
  added_at timestamptz NOT NULL DEFAULT now(),
  added_by text NOT NULL DEFAULT session_user,
  destroyed_at timestamptz,
  destroyed_by text,
  witness text REFERENCES custody.staff,
  CONSTRAINT police_info_permit_complete CHECK ((permitted_until IS NULL) = (permit_reference IS NULL)),
  CONSTRAINT police_info_destruction_complete CHECK ((destroyed_at IS NULL) = (witness IS NULL))
);
CREATE INDEX police_info_case ON custody.police_info (case_id);
CREATE INDEX police_info_held ON custody.police_info (case_id) WHERE destroyed_at IS NULL;

-- A hold (a serious case review, an inquiry, litigation) blocks every destruction on the case.
CREATE TABLE custody.hold (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  case_id bigint NOT NULL REFERENCES custody.case_record,
  reason text NOT NULL CONSTRAINT hold_reason_text CHECK (custody.is_text(reason)),
  placed_at timestamptz NOT NULL DEFAULT now(),
  placed_by text NOT NULL DEFAULT session_user,
  released_at timestamptz,
  released_by text,
  release_reason text CONSTRAINT hold_release_reason_text CHECK (custody.is_text(release_reason)),
  CONSTRAINT hold_release_complete CHECK ((released_at IS NULL) = (release_reason IS NULL))
);
CREATE UNIQUE INDEX hold_one_active_per_case ON custody.hold (case_id) WHERE released_at IS NULL;

DO $$
DECLARE
  agency_table text;
BEGIN
  FOREACH agency_table IN ARRAY ARRAY['police_info', 'hold'] LOOP
    EXECUTE format('ALTER TABLE custody.%I ENABLE ROW LEVEL SECURITY', agency_table);
    EXECUTE format('ALTER TABLE custody.%I FORCE ROW LEVEL SECURITY', agency_table);
    EXECUTE format(
      'CREATE POLICY %I ON custody.%I FOR SELECT USING ((SELECT custody.viewer_sees_all()) '
      'OR EXISTS (SELECT FROM custody.case_record c WHERE c.id = %I.case_id))',
      agency_table || '_read', agency_table, agency_table);
    EXECUTE format('CREATE POLICY %I ON custody.%I FOR INSERT TO CURRENT_USER WITH CHECK (true)',
                   agency_table || '_insert', agency_table);
    EXECUTE format('CREATE POLICY %I ON custody.%I FOR UPDATE TO CURRENT_USER USING (true) WITH CHECK (true)',
                   agency_table || '_update', agency_table);
  END LOOP;
END
$$;
GRANT SELECT ON custody.police_info, custody.hold TO custody_staff;

-- The clocks ------------------------------------------------------------------------------

-- The day someone born on `born` turns 22; for 29 February, 1 March (the later reading, so no
-- record is destroyed before the child is unquestionably 22).
CREATE FUNCTION custody.twenty_second_birthday(born date) RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT CASE WHEN extract(month FROM born) = 2 AND extract(day FROM born) = 29
                THEN make_date(extract(year FROM born)::integer + 22, 3, 1)
                ELSE (born + interval '22 years')::date END
  $$;

-- A closed case's destruction date: its youngest child's 22nd birthday. NULL while the case is
-- open, and for cases closed before 1 April 2009, which are listed for review instead (9.1).
CREATE FUNCTION custody.case_destruction_on(the_case custody.case_record) RETURNS date
  LANGUAGE sql STABLE
  SET search_path = custody, pg_temp
  AS $$
    SELECT CASE WHEN the_case.closed_on >= date '2009-04-01'
                THEN (SELECT custody.twenty_second_birthday(max(k.born))
                        FROM custody.case_child k WHERE k.case_id = the_case.id) END
  $$;

-- Police information is due 18 months after receipt or at the end of proceedings, whichever is
-- sooner; a police permission moves the date to the one permitted.
CREATE FUNCTION custody.police_info_due_on(received_on date, permitted_until date, proceedings_ended_on date)
  RETURNS date
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT coalesce(permitted_until, least((received_on + interval '18 months')::date, proceedings_ended_on))
  $$;

GRANT EXECUTE ON FUNCTION custody.twenty_second_birthday(date), custody.case_destruction_on(custody.case_record),
  custody.police_info_due_on(date, date, date) TO custody_staff;

-- Helpers ---------------------------------------------------------------------------------

CREATE FUNCTION custody.lock_case(number text) RETURNS custody.case_record
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

CREATE FUNCTION custody.require_past_or_today(day date, what text) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF day IS NULL OR day > current_date THEN
    RAISE EXCEPTION '% cannot be in the future (% is)', what, day USING ERRCODE = 'U0003';
  END IF;
END
$$;

-- The witness to a destruction is another member of staff.
CREATE FUNCTION custody.require_witness(me custody.staff, witness text) RETURNS void
  LANGUAGE plpgsql STABLE
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  IF witness IS NULL OR witness = me.login OR NOT EXISTS (SELECT FROM custody.staff s WHERE s.login = witness) THEN
    RAISE EXCEPTION 'the witness must be another member of staff (not %)', coalesce(witness, 'nobody')
      USING ERRCODE = 'U0003';
  END IF;
END
$$;

CREATE FUNCTION custody.active_hold(case_id bigint) RETURNS custody.hold
  LANGUAGE sql STABLE
  SET search_path = custody, pg_temp
  AS $$ SELECT * FROM custody.hold h WHERE h.case_id = active_hold.case_id AND h.released_at IS NULL $$;

-- Case lifecycle --------------------------------------------------------------------------

CREATE FUNCTION custody.case_add_child(request uuid, number text, born date)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'child_added', number);
  the_case custody.case_record;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_past_or_today(born, 'a child''s date of birth');
  the_case := custody.lock_case(number);
  PERFORM custody.require_office_authority(me, the_case.office, 'record children');
  INSERT INTO custody.case_child (case_id, born) VALUES (the_case.id, born);
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, on_date)
    VALUES ('child_added', request, number, the_case.id, the_case.office, born)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.case_end(request uuid, number text, ended_on date, proceedings_ended_on date DEFAULT NULL)
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

CREATE FUNCTION custody.case_close(request uuid, number text, closed_on date)
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

CREATE FUNCTION custody.case_reopen(request uuid, number text, reason text)
  RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  replay bigint := custody.replayed(request, 'case_reopened', number);
  the_case custody.case_record;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_text(reason, 'the reason');
  the_case := custody.lock_case(number);
  PERFORM custody.require_office_authority(me, the_case.office, 'reopen cases');
  IF the_case.ended_on IS NULL THEN
    RAISE EXCEPTION 'case % is open', number USING ERRCODE = 'U0001';
  END IF;
  UPDATE custody.case_record c SET ended_on = NULL, proceedings_ended_on = NULL, closed_on = NULL
   WHERE c.id = the_case.id;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, note)
    VALUES ('case_reopened', request, number, the_case.id, the_case.office, reason)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

-- Holds -----------------------------------------------------------------------------------

CREATE FUNCTION custody.hold_place(request uuid, number text, reason text)
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

CREATE FUNCTION custody.hold_release(request uuid, number text, reason text)
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

-- Police information ----------------------------------------------------------------------

CREATE FUNCTION custody.police_info_add(request uuid, number text, received_on date)
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
  INSERT INTO custody.police_info (case_id, received_on) VALUES (the_case.id, received_on)
    RETURNING id INTO new_item;
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, on_date, item)
    VALUES ('police_info_added', request, number, the_case.id, the_case.office, received_on, new_item)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE FUNCTION custody.lock_police_info(item bigint) RETURNS custody.police_info
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

CREATE FUNCTION custody.police_info_permit(request uuid, item bigint, until date, reference text)
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

CREATE FUNCTION custody.police_info_destroy(request uuid, item bigint, witness text)
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

-- Destruction of a volume -------------------------------------------------------------------

CREATE FUNCTION custody.destroy(request uuid, label text, witness text, certificate text)
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

-- Reports ---------------------------------------------------------------------------------

-- Ended cases not yet closed: closure and the file's return are due 28 days after the end.
CREATE FUNCTION custody.report_closures(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    case_number text, office text, practitioner text, ended_on date, due_on date, overdue boolean,
    files_not_at_base bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT c.number, c.office, c.practitioner, c.ended_on, c.ended_on + 28, c.ended_on + 28 < as_of::date,
           (SELECT count(*) FROM custody.file f WHERE f.case_id = c.id AND f.status NOT IN ('at_base', 'destroyed'))
      FROM custody.case_record c
     WHERE c.ended_on IS NOT NULL AND c.closed_on IS NULL
       AND (office_code IS NULL OR c.office = office_code)
     ORDER BY c.ended_on, c.number
  $$;

-- What is due for destruction at as_of: closed cases past their retention (or listed for review)
-- with volumes not yet destroyed, and police information past its date.
CREATE FUNCTION custody.report_destruction(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (kind text, case_number text, item bigint, labels text, due_on date, hold boolean, review boolean)
  LANGUAGE sql STABLE
  AS $$
    SELECT * FROM (
      SELECT 'case'::text AS kind, c.number AS case_number, NULL::bigint AS item,
             (SELECT string_agg(f.label, ' ' ORDER BY f.volume) FROM custody.file f
               WHERE f.case_id = c.id AND f.status <> 'destroyed') AS labels,
             custody.case_destruction_on(c) AS due_on,
             EXISTS (SELECT FROM custody.hold h WHERE h.case_id = c.id AND h.released_at IS NULL) AS hold,
             c.closed_on < date '2009-04-01' AS review
        FROM custody.case_record c
       WHERE c.closed_on IS NOT NULL
         AND (office_code IS NULL OR c.office = office_code)
         AND (c.closed_on < date '2009-04-01' OR custody.case_destruction_on(c) <= as_of::date)
         AND EXISTS (SELECT FROM custody.file f WHERE f.case_id = c.id AND f.status <> 'destroyed')
      UNION ALL
      SELECT 'police-info', c.number, p.id,
             (SELECT string_agg(f.label, ' ' ORDER BY f.volume) FROM custody.file f
               WHERE f.case_id = c.id AND f.status <> 'destroyed'),
             custody.police_info_due_on(p.received_on, p.permitted_until, c.proceedings_ended_on),
             EXISTS (SELECT FROM custody.hold h WHERE h.case_id = c.id AND h.released_at IS NULL),
             false
        FROM custody.police_info p
        JOIN custody.case_record c ON c.id = p.case_id
       WHERE p.destroyed_at IS NULL
         AND (office_code IS NULL OR c.office = office_code)
         AND custody.police_info_due_on(p.received_on, p.permitted_until, c.proceedings_ended_on) <= as_of::date
    ) due ORDER BY due_on NULLS FIRST, case_number, item NULLS FIRST
  $$;

-- One row per office. Each file counts under the office of its secure base (a home base's
-- worker's office; the origin while in transit).
CREATE FUNCTION custody.report_summary(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    office text, at_base bigint, checked_out bigint, overdue bigint, in_transit bigint,
    late_transit bigint, missing bigint, closures_overdue bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT o.code,
           coalesce(files.at_base, 0), coalesce(files.checked_out, 0), coalesce(removals.overdue, 0),
           coalesce(files.in_transit, 0), coalesce(transfers.late, 0), coalesce(files.missing, 0),
           coalesce(closures.overdue, 0)
      FROM custody.office o
      LEFT JOIN (
        -- Those who see every file read the tally ...
        SELECT t.office,
               sum(t.files) FILTER (WHERE t.status = 'at_base')::bigint AS at_base,
               sum(t.files) FILTER (WHERE t.status = 'checked_out')::bigint AS checked_out,
               sum(t.files) FILTER (WHERE t.status = 'in_transit')::bigint AS in_transit,
               sum(t.files) FILTER (WHERE t.status = 'missing')::bigint AS missing
          FROM custody.office_tally t
         WHERE (SELECT custody.viewer_sees_all()) AND (office_code IS NULL OR t.office = office_code)
         GROUP BY t.office
        UNION ALL
        -- ... everyone else counts the files they may see.
        SELECT f.office,
               count(*) FILTER (WHERE f.status = 'at_base'),
               count(*) FILTER (WHERE f.status = 'checked_out'),
               count(*) FILTER (WHERE f.status = 'in_transit'),
               count(*) FILTER (WHERE f.status = 'missing')
          FROM custody.file f
         WHERE NOT (SELECT custody.viewer_sees_all()) AND (office_code IS NULL OR f.office = office_code)
         GROUP BY f.office) files ON files.office = o.code
      LEFT JOIN (
        SELECT r.office, count(*) AS overdue
          FROM custody.removal r
         WHERE r.ended_at IS NULL AND r.expected_return < as_of
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
     WHERE office_code IS NULL OR o.code = office_code
     ORDER BY o.code
  $$;

GRANT EXECUTE ON FUNCTION
  custody.report_closures(text, timestamptz), custody.report_destruction(text, timestamptz),
  custody.report_summary(text, timestamptz),
  custody.case_add_child(uuid, text, date), custody.case_end(uuid, text, date, date),
  custody.case_close(uuid, text, date), custody.case_reopen(uuid, text, text),
  custody.hold_place(uuid, text, text), custody.hold_release(uuid, text, text),
  custody.police_info_add(uuid, text, date), custody.police_info_permit(uuid, bigint, date, text),
  custody.police_info_destroy(uuid, bigint, text), custody.destroy(uuid, text, text, text)
  TO custody_staff;
