-- The office manager's reports: SQL over the current-state tables and their indexes, evaluated
-- at an instant (as_of, default now). They run with the caller's rights, so row-level security
-- shows each person only what they may see; they are plain SQL functions, which the planner
-- inlines into the calling query, so an office filter reaches the indexes.
-- A NULL office_code means every office the caller can see.

-- Checked-out files. Overdue means the (possibly extended) return time has passed.
CREATE FUNCTION custody.report_out(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, office text, holder text, whereabouts text,
    checked_out_at timestamptz, expected_return timestamptz, overdue boolean, overdue_minutes bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT f.label, c.number, r.office, r.holder, r.whereabouts, r.out_at, r.expected_return,
           r.expected_return < as_of,
           greatest(floor(extract(epoch FROM as_of - r.expected_return) / 60), 0)::bigint
      FROM custody.removal r
      JOIN custody.file f ON f.id = r.file_id
      JOIN custody.case_record c ON c.id = f.case_id
     WHERE r.ended_at IS NULL
       AND (office_code IS NULL OR r.office = office_code)
     ORDER BY r.expected_return, f.label
  $$;

-- Checked-out files past their return time, most overdue first.
CREATE FUNCTION custody.report_overdue(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, office text, holder text, whereabouts text,
    checked_out_at timestamptz, expected_return timestamptz, overdue_minutes bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT f.label, c.number, r.office, r.holder, r.whereabouts, r.out_at, r.expected_return,
           floor(extract(epoch FROM as_of - r.expected_return) / 60)::bigint
      FROM custody.removal r
      JOIN custody.file f ON f.id = r.file_id
      JOIN custody.case_record c ON c.id = f.case_id
     WHERE r.ended_at IS NULL
       AND r.expected_return < as_of
       AND (office_code IS NULL OR r.office = office_code)
     ORDER BY r.expected_return, f.label
  $$;

-- Transfers dispatched and not yet received, to or from the office. Late means the expected
-- arrival has passed.
CREATE FUNCTION custody.report_transit(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, from_base text, to_base text, method text, carrier text, reference text,
    dispatched_at timestamptz, expected_by timestamptz, late boolean)
  LANGUAGE sql STABLE
  AS $$
    SELECT f.label, c.number, t.from_base, t.to_base, t.method, t.carrier, t.reference,
           t.dispatched_at, t.expected_by, t.expected_by < as_of
      FROM custody.transfer t
      JOIN custody.file f ON f.id = t.file_id
      JOIN custody.case_record c ON c.id = f.case_id
     WHERE t.ended_at IS NULL
       AND (office_code IS NULL OR t.to_office = office_code OR t.from_office = office_code)
     ORDER BY t.expected_by, f.label
  $$;

-- Transfers coming to the office, soonest first.
CREATE FUNCTION custody.report_arrivals(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, from_base text, to_base text, method text, carrier text, reference text,
    dispatched_at timestamptz, expected_by timestamptz, late boolean)
  LANGUAGE sql STABLE
  AS $$
    SELECT f.label, c.number, t.from_base, t.to_base, t.method, t.carrier, t.reference,
           t.dispatched_at, t.expected_by, t.expected_by < as_of
      FROM custody.transfer t
      JOIN custody.file f ON f.id = t.file_id
      JOIN custody.case_record c ON c.id = f.case_id
     WHERE t.ended_at IS NULL
       AND (office_code IS NULL OR t.to_office = office_code)
     ORDER BY t.expected_by, f.label
  $$;

-- One row per office. Each file counts under the office of its secure base (a home base's
-- worker's office; the origin while in transit).
CREATE FUNCTION custody.report_summary(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    office text, at_base bigint, checked_out bigint, overdue bigint, in_transit bigint,
    late_transit bigint, missing bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT o.code,
           coalesce(files.at_base, 0), coalesce(files.checked_out, 0), coalesce(removals.overdue, 0),
           coalesce(files.in_transit, 0), coalesce(transfers.late, 0), coalesce(files.missing, 0)
      FROM custody.office o
      LEFT JOIN (
        SELECT f.office,
               count(*) FILTER (WHERE f.status = 'at_base') AS at_base,
               count(*) FILTER (WHERE f.status = 'checked_out') AS checked_out,
               count(*) FILTER (WHERE f.status = 'in_transit') AS in_transit,
               count(*) FILTER (WHERE f.status = 'missing') AS missing
          FROM custody.file f
         WHERE office_code IS NULL OR f.office = office_code
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
     WHERE office_code IS NULL OR o.code = office_code
     ORDER BY o.code
  $$;

GRANT EXECUTE ON FUNCTION
  custody.report_out(text, timestamptz), custody.report_overdue(text, timestamptz),
  custody.report_transit(text, timestamptz), custody.report_arrivals(text, timestamptz),
  custody.report_summary(text, timestamptz)
  TO custody_staff;
