-- The office manager's reports: SQL over the current-state tables and their indexes, evaluated
-- at an instant (as_of, default now). They run with the caller's rights, so row-level security
-- shows each person only what they may see; they are plain SQL functions, which the planner
-- inlines into the calling query, so an office filter reaches the indexes.
-- A NULL office_code means every office the caller can see. The summary, which counts closures,
-- comes with the case lifecycle (0007).

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

GRANT EXECUTE ON FUNCTION
  custody.report_out(text, timestamptz), custody.report_overdue(text, timestamptz),
  custody.report_transit(text, timestamptz), custody.report_arrivals(text, timestamptz)
  TO custody_staff;
