-- Printable labels: what each file's label shows (policy 4.6: its case's classification), for the
-- files named, every volume of a case, or every file of an office. It reads with the caller's
-- rights, so row-level security decides which files: one the login may not see is "no file", as
-- one that does not exist.
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

-- Exactly one of labels, of_case and of_office is given. Named files come in the order given; a
-- case's volumes by volume; an office's files (those whose home office it is) by case and volume.
-- A destroyed file gets no label.
CREATE OR REPLACE FUNCTION custody.label_rows(
  labels text[] DEFAULT NULL, of_case text DEFAULT NULL, of_office text DEFAULT NULL)
  RETURNS TABLE (label text, case_number text, volume integer, office text, classification text)
  LANGUAGE plpgsql STABLE
  AS $$
DECLARE
  wanted text;
  named custody.file;
BEGIN
  IF num_nonnulls(labels, of_case, of_office) <> 1 THEN
    RAISE EXCEPTION 'labels are printed for named files, a case or an office: give exactly one' USING ERRCODE = 'U0003';
  END IF;
  IF labels IS NOT NULL THEN
    FOREACH wanted IN ARRAY labels LOOP
      PERFORM custody.require_label(wanted);
      SELECT * INTO named FROM custody.file f WHERE f.label = wanted;
      IF NOT FOUND THEN
        RAISE EXCEPTION 'no file %', wanted USING ERRCODE = 'U0002';
      END IF;
      IF named.status = 'destroyed' THEN
        RAISE EXCEPTION '% was destroyed on %', wanted, custody.local_time(named.status_since)
          USING ERRCODE = 'U0001', HINT = 'a destroyed file is not labelled';
      END IF;
    END LOOP;
    RETURN QUERY
      SELECT f.label::text, c.number::text, f.volume::integer, f.office, c.classification
        FROM unnest(labels) WITH ORDINALITY AS w(label, position)
        JOIN custody.file f ON f.label = w.label
        JOIN custody.case_record c ON c.id = f.case_id
       ORDER BY w.position;
  ELSIF of_case IS NOT NULL THEN
    PERFORM custody.require_label(of_case, 'case number');
    IF NOT EXISTS (SELECT FROM custody.case_record c WHERE c.number = of_case) THEN
      RAISE EXCEPTION 'no case %', of_case USING ERRCODE = 'U0002';
    END IF;
    RETURN QUERY
      SELECT f.label::text, c.number::text, f.volume::integer, f.office, c.classification
        FROM custody.case_record c
        JOIN custody.file f ON f.case_id = c.id
       WHERE c.number = of_case AND f.status <> 'destroyed'
       ORDER BY f.volume;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no file of case % to label', of_case USING ERRCODE = 'U0002';
    END IF;
  ELSE
    PERFORM custody.require_office(of_office);
    RETURN QUERY
      SELECT f.label::text, c.number::text, f.volume::integer, f.office, c.classification
        FROM custody.file f
        JOIN custody.case_record c ON c.id = f.case_id
       WHERE f.office = of_office AND f.status <> 'destroyed'
       ORDER BY c.number, f.volume;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'no file of office % to label', of_office USING ERRCODE = 'U0002';
    END IF;
  END IF;
END
$$;

GRANT EXECUTE ON FUNCTION custody.label_rows(text[], text, text) TO custody_staff;
