-- Cases and their files: opening, allocating, classifying, children, the end of the work and the
-- closure, and registering each volume.
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

-- The rules of a new case's values and of a new volume's, each on its own so that `import` can
-- name the cell that breaks one; `case open` and `file register` apply them in the same order.
CREATE OR REPLACE FUNCTION custody.require_law(law text) RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  AS $$
BEGIN
  IF law IS NULL OR law NOT IN ('private', 'public', 'adoption') THEN
    RAISE EXCEPTION '"%" is not a kind of law: private, public or adoption', law USING ERRCODE = 'U0003';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION custody.require_classification(classification text) RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  AS $$
BEGIN
  IF classification IS NULL OR classification NOT IN ('restricted', 'confidential') THEN
    RAISE EXCEPTION '"%" is not a classification: restricted or confidential', classification
      USING ERRCODE = 'U0003';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION custody.require_children_born(children_born date[]) RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF EXISTS (SELECT FROM unnest(children_born) born WHERE born IS NULL OR born > current_date) THEN
    RAISE EXCEPTION 'a child''s date of birth cannot be in the future' USING ERRCODE = 'U0003';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION custody.require_may_classify(me custody.staff, classification text) RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF classification = 'confidential' AND me.role NOT IN ('service-manager', 'director') THEN
    RAISE EXCEPTION 'only a service manager or a director may classify a case confidential'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;

-- A case is allocated to a practitioner or a family support worker still in post (or to nobody).
CREATE OR REPLACE FUNCTION custody.require_allocatable(practitioner text) RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
DECLARE
  allocated custody.staff;
BEGIN
  IF practitioner IS NOT NULL THEN
    allocated := custody.require_staff(practitioner);
    IF allocated.role NOT IN ('practitioner', 'family-support-worker') THEN
      RAISE EXCEPTION '% is % staff, not a practitioner', practitioner, allocated.role USING ERRCODE = 'U0003';
    END IF;
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION custody.require_file_kind(kind text) RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  AS $$
BEGIN
  IF kind IS NULL OR kind NOT IN ('file', 'folder') THEN
    RAISE EXCEPTION '"%" is not a kind of file: file or folder', kind USING ERRCODE = 'U0003';
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION custody.require_volume(volume integer) RETURNS void
  LANGUAGE plpgsql IMMUTABLE
  AS $$
BEGIN
  IF volume IS NOT NULL AND volume NOT BETWEEN 1 AND 999 THEN
    RAISE EXCEPTION 'the volume must be a number from 1 to 999' USING ERRCODE = 'U0003';
  END IF;
END
$$;

-- A new case's rows, once its values passed the rules; a taken number is answered the same
-- whether or not the login may see its case.
CREATE OR REPLACE FUNCTION custody.insert_case(
  number text, office text, law text, classification text, children_born date[], practitioner text)
  RETURNS bigint
  LANGUAGE plpgsql
  AS $$
DECLARE
  new_case bigint;
BEGIN
  BEGIN
    INSERT INTO custody.case_record (number, office, law, classification, practitioner)
      VALUES (number, office, law, classification, practitioner)
      RETURNING id INTO new_case;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'case % already exists', number USING ERRCODE = 'U0001';
  END;
  INSERT INTO custody.case_child (case_id, born) SELECT new_case, born FROM unnest(children_born) born;
  RETURN new_case;
END
$$;

-- A new volume of a locked case, at the case's office or the given base: the next volume when none
-- is given, the office's next label when none is given (skipping labels taken meanwhile, seen or
-- not).
CREATE OR REPLACE FUNCTION custody.insert_file(
  the_case custody.case_record, volume integer, kind text, label text, base text,
  OUT file_id bigint, OUT file_label text)
  LANGUAGE plpgsql
  AS $$
DECLARE
  new_volume integer := volume;
  serial integer;
  taken text;
BEGIN
  file_label := label;
  IF new_volume IS NULL THEN
    SELECT coalesce(max(f.volume), 0) + 1 INTO new_volume FROM custody.file f WHERE f.case_id = the_case.id;
  END IF;
  LOOP
    IF label IS NULL THEN
      UPDATE custody.office o SET next_label = o.next_label + 1
       WHERE o.code = the_case.office
       RETURNING o.next_label - 1 INTO serial;
      file_label := the_case.office || '-' || lpad(serial::text, 6, '0');
      CONTINUE WHEN EXISTS (SELECT FROM custody.file f WHERE f.label = file_label);
    END IF;
    BEGIN
      INSERT INTO custody.file (label, case_id, volume, kind, base, office, case_office, confidential, practitioner)
        VALUES (file_label, the_case.id, new_volume, kind, base, the_case.office, the_case.office,
                the_case.classification = 'confidential', the_case.practitioner)
        RETURNING id INTO file_id;
      EXIT;
    EXCEPTION WHEN unique_violation THEN
      GET STACKED DIAGNOSTICS taken = CONSTRAINT_NAME;
      IF taken = 'file_volume_unique' THEN
        IF volume IS NOT NULL THEN
          RAISE EXCEPTION 'case % already has a volume %', the_case.number, new_volume USING ERRCODE = 'U0001';
        END IF;
        new_volume := new_volume + 1;
      ELSIF label IS NOT NULL THEN
        RAISE EXCEPTION 'the label % is already in use', file_label USING ERRCODE = 'U0001';
      END IF;
    END;
  END LOOP;
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
  new_case bigint;
  event_id bigint;
BEGIN
  IF replay IS NOT NULL THEN
    RETURN replay;
  END IF;
  PERFORM custody.require_label(number, 'case number');
  PERFORM custody.require_law(law);
  PERFORM custody.require_classification(classification);
  PERFORM custody.require_children_born(children_born);
  PERFORM custody.require_office(office);
  PERFORM custody.require_office_authority(me, office, 'open cases');
  PERFORM custody.require_own_prefix(number, 'case number', office);
  PERFORM custody.require_may_classify(me, classification);
  PERFORM custody.require_allocatable(practitioner);
  new_case := custody.insert_case(number, office, law, classification, children_born, practitioner);
  INSERT INTO custody.event (kind, request_id, subject, case_id, base, holder)
    VALUES ('case_opened', request, number, new_case, office, practitioner)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

CREATE OR REPLACE FUNCTION custody.case_allocate(request uuid, number text, practitioner text)
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
CREATE OR REPLACE FUNCTION custody.case_classify(request uuid, number text, classification text, reason text)
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

CREATE OR REPLACE FUNCTION custody.case_add_child(request uuid, number text, born date)
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

CREATE OR REPLACE FUNCTION custody.case_reopen(request uuid, number text, reason text)
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
  PERFORM custody.require_file_kind(kind);
  PERFORM custody.require_volume(volume);
  -- Locking the case serialises registrations of its volumes.
  SELECT * INTO the_case FROM custody.case_record c WHERE c.number = case_number FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no case %', case_number USING ERRCODE = 'U0002';
  END IF;
  PERFORM custody.require_office_authority(me, the_case.office, 'register files');
  IF label IS NOT NULL THEN
    PERFORM custody.require_own_prefix(label, 'label', the_case.office);
  END IF;
  SELECT n.file_id INTO new_file FROM custody.insert_file(the_case, volume, kind, label, the_case.office) n;
  INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base)
    VALUES ('registered', request, coalesce(label, case_number), the_case.id, new_file, the_case.office)
    RETURNING id INTO event_id;
  RETURN event_id;
END
$$;

GRANT EXECUTE ON FUNCTION
  custody.case_open(uuid,text,text,text,text,date[],text),
  custody.case_allocate(uuid,text,text),
  custody.case_classify(uuid,text,text,text),
  custody.file_register(uuid,text,integer,text,text),
  custody.case_add_child(uuid,text,date),
  custody.case_end(uuid,text,date,date),
  custody.case_close(uuid,text,date),
  custody.case_reopen(uuid,text,text)
  TO custody_staff;
