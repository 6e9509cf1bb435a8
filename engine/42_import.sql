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

-- Records the register's rows or nothing. Each row is checked in line order by the rules of
-- `case open` and `file register` (reading only, so a bad row costs no subtransaction's writes);
-- each bad row is listed with the column at fault. Rows of one case must agree with its first
-- row, and a label or a case's volume may appear once. A row already recorded as it says (the same
-- case, the same label for the same volume) records nothing, so a second import of the same
-- register records nothing; a row that contradicts the record is a bad row. When every row is good
-- (and not dry_run) the good rows are recorded together, set by set. Returns how many cases and
-- files it recorded (or would have), and the problems as [{line, column, problem}].
CREATE OR REPLACE FUNCTION custody.import_register(
  register custody.import_row[], source text, dry_run boolean DEFAULT false,
  OUT cases integer, OUT files integer, OUT problems jsonb)
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  me custody.staff := custody.current_staff();
  r record;
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
  checked integer := 0;
  good boolean;
  last_case text;
  case_column text;
  case_problem text;
BEGIN
  IF me.role NOT IN ('business-support', 'office-manager', 'director') THEN
    RAISE EXCEPTION '% (%) may not import: business support, office managers and directors may', me.login, me.role
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  PERFORM custody.require_text(source, 'the register''s name', 200);
  -- One import at a time: a second waits, then finds the first's rows recorded.
  PERFORM pg_advisory_xact_lock(hashtext('custody.import_register'));
  DROP TABLE IF EXISTS pg_temp.import_plan;
  CREATE TEMPORARY TABLE import_plan (
    line integer, case_line integer, case_id bigint, case_number text, office text, law text,
    classification text, born date[], practitioner text, label text, volume integer, kind text,
    status text, base text, holder text, whereabouts text, return_by timestamptz, file_id bigint) ON COMMIT DROP;
  problems := '[]';

  FOR r IN
    SELECT u.*, c.case_line, c.label_line, c.volume_line,
           CASE WHEN u.line > c.case_line THEN
             CASE WHEN u.office IS DISTINCT FROM c.first_office THEN 'office'
                  WHEN u.law IS DISTINCT FROM c.first_law THEN 'law'
                  WHEN n.classification IS DISTINCT FROM c.first_classification THEN 'classification'
                  WHEN u.practitioner IS DISTINCT FROM c.first_practitioner THEN 'practitioner'
                  WHEN n.born IS DISTINCT FROM c.first_born THEN 'children_born' END
           END AS disagrees
      FROM unnest(register) u
      CROSS JOIN LATERAL (
        SELECT coalesce(u.classification, 'restricted') AS classification,
               array_to_string(ARRAY(SELECT btrim(d) FROM unnest(string_to_array(u.children_born, ';')) d
                                     WHERE btrim(d) <> '' ORDER BY 1), ';') AS born) n
      JOIN (
        SELECT w.line,
               first_value(w.line) OVER by_case AS case_line,
               first_value(w.office) OVER by_case AS first_office,
               first_value(w.law) OVER by_case AS first_law,
               first_value(coalesce(w.classification, 'restricted')) OVER by_case AS first_classification,
               first_value(w.practitioner) OVER by_case AS first_practitioner,
               first_value(array_to_string(ARRAY(
                 SELECT btrim(d) FROM unnest(string_to_array(w.children_born, ';')) d WHERE btrim(d) <> '' ORDER BY 1),
                 ';')) OVER by_case AS first_born,
               first_value(w.line) OVER (PARTITION BY w.label ORDER BY w.line) AS label_line,
               first_value(w.line) OVER (PARTITION BY w.case_number, w.volume ORDER BY w.line) AS volume_line
          FROM unnest(register) w
        WINDOW by_case AS (PARTITION BY w.case_number ORDER BY w.line)
      ) c ON c.line = u.line
     ORDER BY u.line
  LOOP
    checked := checked + 1;
    IF checked % 10000 = 0 THEN
      RAISE NOTICE USING MESSAGE = format('checking row %s of %s', checked, cardinality(register)), ERRCODE = 'U0P01';
    END IF;
    good := false;
    -- The case's columns: checked once for consecutive rows of one case that agree (the case
    -- columns are then the same), else for each row.
    IF r.case_number IS DISTINCT FROM last_case OR r.disagrees IS NOT NULL THEN
      case_problem := NULL;
      last_case := CASE WHEN r.disagrees IS NULL THEN r.case_number END;
      BEGIN
        FOREACH col IN ARRAY ARRAY['case', 'office', 'law'] LOOP
          IF (CASE col WHEN 'case' THEN r.case_number WHEN 'office' THEN r.office ELSE r.law END) IS NULL THEN
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
        IF r.disagrees IS NOT NULL THEN
          col := r.disagrees;
          RAISE EXCEPTION 'case % has another % on line %', r.case_number, replace(col, '_', ' '), r.case_line
            USING ERRCODE = 'U0001';
        END IF;

        col := 'case';
        SELECT * INTO the_case FROM custody.case_record c WHERE c.number = r.case_number;
        IF FOUND THEN
          -- Recorded before: the row must agree with the record.
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
            RAISE EXCEPTION 'case % is recorded with another %', r.case_number, replace(col, '_', ' ')
              USING ERRCODE = 'U0001';
          END IF;
        ELSE
          the_case := NULL;
          the_case.number := r.case_number;
          the_case.office := r.office;
          the_case.practitioner := r.practitioner;
          IF r.line = r.case_line THEN
            PERFORM custody.require_own_prefix(r.case_number, 'case number', r.office);
            col := 'classification';
            PERFORM custody.require_may_classify(me, row_classification);
          END IF;
        END IF;
      EXCEPTION WHEN SQLSTATE 'U0001' OR SQLSTATE 'U0002' OR SQLSTATE 'U0003' OR insufficient_privilege THEN
        case_column := col;
        case_problem := SQLERRM;
      END;
    END IF;
    IF case_problem IS NOT NULL THEN
      problems := problems || jsonb_build_object('line', r.line, 'column', case_column, 'problem', case_problem);
      CONTINUE;
    END IF;

    BEGIN
      col := 'label';
      IF r.label IS NULL THEN
        RAISE EXCEPTION 'every row needs its label' USING ERRCODE = 'U0003';
      END IF;
      PERFORM custody.require_label(r.label);
      IF r.line > r.label_line THEN
        RAISE EXCEPTION 'the label % is also on line %', r.label, r.label_line USING ERRCODE = 'U0001';
      END IF;
      col := 'volume';
      IF r.volume !~ '^\d{1,3}$' THEN
        RAISE EXCEPTION '"%" is not a volume number', r.volume USING ERRCODE = 'U0003';
      END IF;
      row_volume := r.volume::integer;
      PERFORM custody.require_volume(row_volume);
      IF row_volume IS NOT NULL AND r.line > r.volume_line THEN
        RAISE EXCEPTION 'volume % of case % is also on line %', row_volume, r.case_number, r.volume_line
          USING ERRCODE = 'U0001';
      END IF;
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
      IF row_base IS DISTINCT FROM place.id THEN
        place := custody.require_secure_base(row_base);
      END IF;
      IF place.office <> the_case.office THEN
        RAISE EXCEPTION '% is not a secure base of office %', row_base, the_case.office USING ERRCODE = 'U0003';
      END IF;
      col := 'holder';
      holding := NULL;
      return_by := NULL;
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
        IF recorded.case_id IS DISTINCT FROM the_case.id OR recorded.volume <> coalesce(row_volume, recorded.volume)
           OR recorded.kind <> row_kind OR NOT custody.sees_file(recorded.id) THEN
          RAISE EXCEPTION 'the label % is already in use', r.label USING ERRCODE = 'U0001';
        END IF;
      ELSE
        PERFORM custody.require_own_prefix(r.label, 'label', the_case.office);
        col := 'volume';
        IF the_case.id IS NOT NULL AND row_volume IS NOT NULL
           AND EXISTS (SELECT FROM custody.file f WHERE f.case_id = the_case.id AND f.volume = row_volume) THEN
          RAISE EXCEPTION 'case % already has a volume % with another label', the_case.number, row_volume
            USING ERRCODE = 'U0001';
        END IF;
        good := true;
      END IF;
    EXCEPTION WHEN SQLSTATE 'U0001' OR SQLSTATE 'U0002' OR SQLSTATE 'U0003' OR insufficient_privilege THEN
      problems := problems || jsonb_build_object('line', r.line, 'column', col, 'problem', SQLERRM);
    END;
    -- Written outside the row's block, so the block itself writes nothing.
    IF good THEN
      INSERT INTO import_plan
        VALUES (r.line, r.case_line, the_case.id, r.case_number, r.office, row_law, row_classification, row_born,
                r.practitioner, r.label, row_volume, row_kind, row_status, row_base, holding.login, r.whereabouts,
                return_by, NULL);
    END IF;
  END LOOP;

  SELECT count(DISTINCT p.case_number) FILTER (WHERE p.case_id IS NULL), count(*) INTO cases, files FROM import_plan p;
  IF files = 0 THEN
    RETURN;
  END IF;
  RAISE NOTICE USING MESSAGE = format('recording %s cases and %s files', cases, files), ERRCODE = 'U0P01';

  -- The good rows are recorded set by set, then undone when any row is bad or this is a dry run.
  -- A case number or label taken by a case or file the login may not see is found only here,
  -- where it is not inserted, and is answered as one that is seen.
  BEGIN
    WITH firsts AS (
      SELECT DISTINCT ON (p.case_number) p.* FROM import_plan p WHERE p.case_id IS NULL ORDER BY p.case_number, p.line
    ), made AS (
      INSERT INTO custody.case_record (number, office, law, classification, practitioner)
      SELECT f.case_number, f.office, f.law, f.classification, f.practitioner FROM firsts f
      ON CONFLICT DO NOTHING
      RETURNING id, number, office, practitioner
    ), children AS (
      INSERT INTO custody.case_child (case_id, born)
      SELECT made.id, born.born FROM made JOIN firsts f ON f.case_number = made.number CROSS JOIN unnest(f.born) born
    ), events AS (
      INSERT INTO custody.event (kind, request_id, subject, case_id, base, holder, note)
      SELECT 'imported', gen_random_uuid(), made.number, made.id, made.office, made.practitioner,
             format('line %s of %s', f.line, source)
        FROM made JOIN firsts f ON f.case_number = made.number
       ORDER BY f.line
    )
    UPDATE import_plan p SET case_id = made.id FROM made WHERE p.case_number = made.number;
    problems := problems || coalesce((
      SELECT jsonb_agg(jsonb_build_object('line', p.line, 'column', 'case',
                                          'problem', format('case %s already exists', p.case_number)))
        FROM import_plan p WHERE p.case_id IS NULL), '[]');
    DELETE FROM import_plan p WHERE p.case_id IS NULL;

    -- Volumes given, else each case's next ones in line order; existing cases locked meanwhile.
    PERFORM FROM custody.case_record c WHERE c.id IN (SELECT p.case_id FROM import_plan p) ORDER BY c.id FOR UPDATE;
    UPDATE import_plan p SET volume = numbered.volume
      FROM (
        SELECT q.line,
               greatest((SELECT max(f.volume) FROM custody.file f WHERE f.case_id = q.case_id),
                        max(q.volume) OVER (PARTITION BY q.case_id), 0)
                 + row_number() OVER (PARTITION BY q.case_id, q.volume IS NULL ORDER BY q.line) AS volume
          FROM import_plan q) numbered
     WHERE p.line = numbered.line AND p.volume IS NULL;

    -- The files, the open removals of those checked out, and each file's first event.
    WITH planned AS (
      SELECT p.*, CASE WHEN p.status = 'checked_out' THEN nextval('custody.removal_id_seq') END AS removal_id
        FROM import_plan p
    ), made AS (
      INSERT INTO custody.file (label, case_id, volume, kind, status, base, office, case_office, confidential,
                                practitioner, open_removal, holder)
      SELECT p.label, p.case_id, p.volume, p.kind, p.status, p.base, p.office, p.office,
             p.classification = 'confidential', p.practitioner, p.removal_id, p.holder
        FROM planned p
      ON CONFLICT DO NOTHING
      RETURNING id, label
    ), removals AS (
      INSERT INTO custody.removal (id, file_id, office, holder, whereabouts, expected_return)
        OVERRIDING SYSTEM VALUE
      SELECT p.removal_id, made.id, p.office, p.holder, p.whereabouts, p.return_by
        FROM planned p JOIN made ON made.label = p.label
       WHERE p.removal_id IS NOT NULL
    ), events AS (
      INSERT INTO custody.event (kind, request_id, subject, case_id, file_id, base, holder, whereabouts, expected_at,
                                 note)
      SELECT 'imported', gen_random_uuid(), p.label, p.case_id, made.id, p.base, p.holder, p.whereabouts, p.return_by,
             format('line %s of %s, %s', p.line, source, replace(p.status, '_', ' '))
        FROM planned p JOIN made ON made.label = p.label
       ORDER BY p.line
    )
    UPDATE import_plan p SET file_id = made.id FROM made WHERE p.label = made.label;
    problems := problems || coalesce((
      SELECT jsonb_agg(jsonb_build_object('line', p.line, 'column', 'label',
                                          'problem', format('the label %s is already in use', p.label)))
        FROM import_plan p WHERE p.file_id IS NULL), '[]');

    IF jsonb_array_length(problems) > 0 OR dry_run THEN
      RAISE EXCEPTION 'undone' USING ERRCODE = 'U0U01';
    END IF;
  EXCEPTION WHEN SQLSTATE 'U0U01' THEN
    NULL; -- everything recorded above is undone; the counts say what would have been
  END;
END
$$;

GRANT EXECUTE ON FUNCTION custody.import_register(custody.import_row[], text, boolean) TO custody_staff;
