-- Import: an agency's existing register of cases and volumes, recorded all or nothing by the
-- rules of `case open` and `file register` (the same functions, in the same order).
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

-- A date of the register: YYYY-MM-DD, a real day.
CREATE OR REPLACE FUNCTION custody.import_date(cell text) RETURNS date
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF cell !~ '^\d{4}-\d{2}-\d{2}$' THEN
    RAISE EXCEPTION '"%" is not a date (YYYY-MM-DD)', cell USING ERRCODE = 'U0003';
  END IF;
  RETURN cell::date;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
  RAISE EXCEPTION '% is not a day of the calendar', cell USING ERRCODE = 'U0003';
END
$$;

-- A time of the register: YYYY-MM-DD HH:MM[:SS] (T between them also), local to the session's
-- time zone unless it names its own offset.
CREATE OR REPLACE FUNCTION custody.import_time(cell text) RETURNS timestamptz
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF cell !~ '^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?([+-]\d{2}(:?\d{2})?|Z)?$' THEN
    RAISE EXCEPTION '"%" is not a time (YYYY-MM-DD HH:MM)', cell USING ERRCODE = 'U0003';
  END IF;
  RETURN cell::timestamptz;
EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format THEN
  RAISE EXCEPTION '% is not a time of the calendar', cell USING ERRCODE = 'U0003';
END
$$;

-- Whether a member of staff may hold a file of the office: its staff, and for a confidential case
-- only the allocated practitioner and those answerable for the office; directors any.
CREATE OR REPLACE FUNCTION custody.may_hold(member custody.staff, office text, confidential boolean, practitioner text)
  RETURNS boolean
  LANGUAGE sql STABLE
  AS $$
    SELECT member.role = 'director'
        OR (member.office = may_hold.office
            AND (NOT confidential OR member.login = practitioner
                 OR member.role IN ('business-support', 'office-manager', 'service-manager')))
  $$;

-- Records the register's rows (in line order) or nothing: each bad row is listed with the column
-- at fault, and if there is any (or dry_run), everything is undone. A row already recorded as it
-- says (the same case, the same label for the same volume) records nothing, so a second import of
-- the same register records nothing; a row that contradicts the record is a bad row, as is the
-- later of two rows of one case that disagree. Returns how many cases and files it recorded (or
-- would have), and the problems as [{line, column, problem}].
CREATE OR REPLACE FUNCTION custody.import_register(
  register custody.import_row[], source text, dry_run boolean DEFAULT false,
  OUT cases integer, OUT files integer, OUT problems jsonb)
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  r custody.import_row;
  col text;
  row_law text;
  row_classification text;
  row_born date[];
  the_case custody.case_record;
  recorded custody.file;
  place custody.secure_base;
  holding custody.staff;
  row_volume integer;
  row_kind text;
  row_status text;
  row_base text;
  return_by timestamptz;
  new_case bigint;
  new_file bigint;
  removal_id bigint;
  rows_done integer := 0;
  new_cases integer;
BEGIN
  IF me.role NOT IN ('business-support', 'office-manager', 'director') THEN
    RAISE EXCEPTION '% (%) may not import: business support, office managers and directors may', me.login, me.role
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM custody.require_text(source, 'the register''s name', 200);
  -- One import at a time: a second waits, then finds the first's rows recorded.
  PERFORM pg_advisory_xact_lock(hashtext('custody.import_register'));
  cases := 0;
  files := 0;
  problems := '[]';
  BEGIN
    FOR r IN SELECT * FROM unnest(register) u ORDER BY u.line LOOP
      new_cases := 0;
      BEGIN
        FOREACH col IN ARRAY ARRAY['case', 'office', 'law', 'label'] LOOP
          IF (CASE col WHEN 'case' THEN r.case_number WHEN 'office' THEN r.office WHEN 'law' THEN r.law
                       ELSE r.label END) IS NULL THEN
            RAISE EXCEPTION 'every row needs its %', CASE col WHEN 'case' THEN 'case number' ELSE col END
              USING ERRCODE = 'U0003';
          END IF;
        END LOOP;
        col := 'case';
        PERFORM custody.require_label(r.case_number, 'case number');
        col := 'office';
        PERFORM custody.require_office(r.office);
        PERFORM custody.require_office_authority(me, r.office, 'import files');
        col := 'law';
        row_law := r.law;
        PERFORM custody.require_law(row_law);
        col := 'classification';
        row_classification := coalesce(r.classification, 'restricted');
        PERFORM custody.require_classification(row_classification);
        col := 'children_born';
        row_born := ARRAY(SELECT custody.import_date(btrim(d)) FROM unnest(string_to_array(r.children_born, ';')) d
                       WHERE btrim(d) <> '' ORDER BY 1);
        PERFORM custody.require_children_born(row_born);
        col := 'practitioner';
        PERFORM custody.require_allocatable(r.practitioner);
        col := 'case';
        SELECT * INTO the_case FROM custody.case_record c WHERE c.number = r.case_number FOR UPDATE;
        IF FOUND THEN
          -- Recorded before (by this import's earlier rows or another way): the row must agree.
          IF NOT custody.sees_case(the_case.id) THEN
            RAISE EXCEPTION 'case % already exists', r.case_number USING ERRCODE = 'U0001';
          END IF;
          col := CASE
            WHEN the_case.office <> r.office THEN 'office'
            WHEN the_case.law <> row_law THEN 'law'
            WHEN the_case.classification <> row_classification THEN 'classification'
            WHEN the_case.practitioner IS DISTINCT FROM r.practitioner THEN 'practitioner'
            WHEN row_born <> ARRAY(SELECT k.born FROM custody.case_child k WHERE k.case_id = the_case.id ORDER BY 1)
              THEN 'children_born' END;
          IF col IS NOT NULL THEN
            RAISE EXCEPTION 'case % is recorded with another % (an earlier row, or the record, says otherwise)',
              r.case_number, replace(col, '_', ' ') USING ERRCODE = 'U0001';
          END IF;
        ELSE
          col := 'case';
          PERFORM custody.require_own_prefix(r.case_number, 'case number', r.office);
          col := 'classification';
          PERFORM custody.require_may_classify(me, row_classification);
          col := 'case';
          new_case := custody.insert_case(r.case_number, r.office, row_law, row_classification, row_born, r.practitioner);
          SELECT * INTO the_case FROM custody.case_record c WHERE c.id = new_case;
          INSERT INTO custody.event (kind, request_id, subject, case_id, base, holder, note)
            VALUES ('imported', gen_random_uuid(), the_case.number, the_case.id, the_case.office, the_case.practitioner,
                    format('line %s of %s', r.line, source));
          new_cases := 1;
        END IF;

        col := 'label';
        PERFORM custody.require_label(r.label);
        col := 'volume';
        IF r.volume !~ '^\d{1,3}$' THEN
          RAISE EXCEPTION '"%" is not a volume number', r.volume USING ERRCODE = 'U0003';
        END IF;
        row_volume := r.volume::integer;
        PERFORM custody.require_volume(row_volume);
        col := 'kind';
        row_kind := coalesce(r.kind, 'file');
        PERFORM custody.require_file_kind(row_kind);
        col := 'status';
        row_status := coalesce(r.status, 'at_base');
        IF row_status NOT IN ('at_base', 'checked_out', 'missing') THEN
          RAISE EXCEPTION '"%" is not a status of an existing file: at_base, checked_out or missing', row_status
            USING ERRCODE = 'U0003';
        END IF;
        col := 'secure_base';
        row_base := coalesce(r.secure_base, the_case.office);
        place := custody.require_secure_base(row_base);
        IF place.office <> the_case.office THEN
          RAISE EXCEPTION '% is not a secure base of office %', row_base, the_case.office USING ERRCODE = 'U0003';
        END IF;
        col := 'holder';
        IF row_status = 'checked_out' THEN
          IF r.holder IS NULL THEN
            RAISE EXCEPTION 'a checked-out file needs its holder' USING ERRCODE = 'U0003';
          END IF;
          holding := custody.require_staff(r.holder);
          IF NOT custody.may_hold(holding, the_case.office, row_classification = 'confidential', the_case.practitioner) THEN
            RAISE EXCEPTION '% (%, %) may not hold a file of case %', holding.login, holding.role, holding.office,
              the_case.number USING ERRCODE = 'U0003';
          END IF;
          col := 'whereabouts';
          PERFORM custody.require_text(r.whereabouts, 'the whereabouts');
          col := 'expected_return';
          IF r.expected_return IS NULL THEN
            RAISE EXCEPTION 'a checked-out file needs its expected return' USING ERRCODE = 'U0003';
          END IF;
          return_by := custody.import_time(r.expected_return);
          IF return_by NOT BETWEEN now() - interval '366 days' AND now() + interval '366 days' THEN
            RAISE EXCEPTION 'the expected return must be within 366 days of now (% is not)', custody.local_time(return_by)
              USING ERRCODE = 'U0003';
          END IF;
        ELSE
          FOREACH col IN ARRAY ARRAY['holder', 'whereabouts', 'expected_return'] LOOP
            IF (CASE col WHEN 'holder' THEN r.holder WHEN 'whereabouts' THEN r.whereabouts
                         ELSE r.expected_return END) IS NOT NULL THEN
              RAISE EXCEPTION 'only a checked-out file has a %', replace(col, '_', ' ') USING ERRCODE = 'U0003';
            END IF;
          END LOOP;
        END IF;

        col := 'label';
        SELECT * INTO recorded FROM custody.file f WHERE f.label = r.label;
        IF FOUND THEN
          -- Recorded before: the same volume of the same case is this row, already imported.
          IF recorded.case_id <> the_case.id OR recorded.volume <> coalesce(row_volume, recorded.volume)
             OR recorded.kind <> row_kind OR NOT custody.sees_file(recorded.id) THEN
            RAISE EXCEPTION 'the label % is already in use', r.label USING ERRCODE = 'U0001';
          END IF;
        ELSE
          PERFORM custody.require_own_prefix(r.label, 'label', the_case.office);
          col := 'volume';
          IF EXISTS (SELECT FROM custody.file f WHERE f.case_id = the_case.id AND f.volume = row_volume) THEN
            RAISE EXCEPTION 'case % already has a volume % with another label', the_case.number, row_volume
              USING ERRCODE = 'U0001';
          END IF;
          col := 'label';
          SELECT n.file_id INTO new_file FROM custody.insert_file(the_case, row_volume, row_kind, r.label, row_base) n;
          col := 'status';
          IF row_status = 'checked_out' THEN
            removal_id := nextval('custody.removal_id_seq');
            INSERT INTO custody.removal (id, file_id, office, holder, whereabouts, expected_return)
              OVERRIDING SYSTEM VALUE
              VALUES (removal_id, new_file, the_case.office, holding.login, r.whereabouts, return_by);
            UPDATE custody.file f SET status = 'checked_out', open_removal = removal_id, holder = holding.login
             WHERE f.id = new_file;
          ELSIF row_status = 'missing' THEN
            UPDATE custody.file f SET status = 'missing' WHERE f.id = new_file;
          END IF;
          INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder, whereabouts, expected_at,
                                     note)
            VALUES ('imported', gen_random_uuid(), r.label, the_case.id, new_file, row_base,
                    CASE WHEN row_status = 'checked_out' THEN holding.login END, r.whereabouts, return_by,
                    format('line %s of %s, %s', r.line, source, replace(row_status, '_', ' ')));
          files := files + 1;
        END IF;
        -- Counted once the whole row held: a bad row's case is undone with it.
        cases := cases + new_cases;
      EXCEPTION WHEN SQLSTATE 'U0001' OR SQLSTATE 'U0002' OR SQLSTATE 'U0003' OR insufficient_privilege THEN
        problems := problems || jsonb_build_object('line', r.line, 'column', col, 'problem', SQLERRM);
      END;
      rows_done := rows_done + 1;
      IF rows_done % 10000 = 0 THEN
        RAISE NOTICE USING MESSAGE = format('checked %s of %s rows', rows_done, cardinality(register)),
          ERRCODE = 'U0P01';
      END IF;
    END LOOP;
    IF jsonb_array_length(problems) > 0 OR dry_run THEN
      RAISE EXCEPTION 'undone' USING ERRCODE = 'U0U01';
    END IF;
  EXCEPTION WHEN SQLSTATE 'U0U01' THEN
    NULL; -- everything recorded above is undone; the counts say what would have been
  END;
END
$$;

GRANT EXECUTE ON FUNCTION custody.import_register(custody.import_row[], text, boolean) TO custody_staff;
