-- Reports start from the files the login may see.
--
-- Row-level security shows an open removal when its file is visible, so a report over every
-- office checked each open removal's file in turn: for an office manager, ~100,000 probes of
-- custody.file to keep the 2,500 of their office (1.3-1.8 s at 1,000,000 files). The open removal
-- is now also joined from its file (file.open_removal, with the file's status), which lets the
-- planner start from the checked-out files the login may see when no office is named, and from
-- removal_open_by_office when one is. The rows are the same: a file is checked out exactly when
-- it names its one open removal (file_removal_matches_status, removal_one_open_per_file), and an
-- open removal is visible exactly when its file is (same holder, same office).

CREATE OR REPLACE FUNCTION custody.report_out(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, office text, holder text, whereabouts text,
    checked_out_at timestamptz, expected_return timestamptz, overdue boolean, overdue_minutes bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT f.label, c.number, r.office, r.holder, r.whereabouts, r.out_at, r.expected_return,
           r.expected_return < as_of,
           greatest(floor(extract(epoch FROM as_of - r.expected_return) / 60), 0)::bigint
      FROM custody.removal r
      JOIN custody.file f ON f.id = r.file_id AND f.open_removal = r.id
      JOIN custody.case_record c ON c.id = f.case_id
     WHERE r.ended_at IS NULL AND f.status = 'checked_out'
       AND (office_code IS NULL OR r.office = office_code)
     ORDER BY r.expected_return, f.label
  $$;

-- The overdue report is the out report's overdue rows; its filter reaches removal_open_by_office.
CREATE OR REPLACE FUNCTION custody.report_overdue(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, office text, holder text, whereabouts text,
    checked_out_at timestamptz, expected_return timestamptz, overdue_minutes bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT o.label, o.case_number, o.office, o.holder, o.whereabouts, o.checked_out_at, o.expected_return,
           o.overdue_minutes
      FROM custody.report_out(office_code, as_of) o
     WHERE o.overdue
     ORDER BY o.expected_return, o.label
  $$;

-- Directors count every office's open removals from removal_open_by_office alone; everyone else
-- counts the overdue ones of the checked-out files they may see, as above.
CREATE OR REPLACE FUNCTION custody.report_summary(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    office text, at_base bigint, checked_out bigint, overdue bigint, in_transit bigint,
    late_transit bigint, missing bigint, closures_overdue bigint)
  LANGUAGE sql STABLE
  AS $$
    SELECT o.code,
           coalesce(files.at_base, 0) - coalesce(files.checked_out, removals.out, 0),
           coalesce(files.checked_out, removals.out, 0), coalesce(removals.overdue, 0),
           coalesce(files.in_transit, 0), coalesce(transfers.late, 0), coalesce(files.missing, 0),
           coalesce(closures.overdue, 0)
      FROM custody.office o
      LEFT JOIN (
        -- Those who see every file read the tally, whose at_base includes the checked-out files ...
        SELECT t.office,
               sum(t.files) FILTER (WHERE t.status = 'at_base')::bigint AS at_base,
               NULL::bigint AS checked_out,
               sum(t.files) FILTER (WHERE t.status = 'in_transit')::bigint AS in_transit,
               sum(t.files) FILTER (WHERE t.status = 'missing')::bigint AS missing
          FROM custody.office_tally t
         WHERE (SELECT custody.viewer_sees_all()) AND (office_code IS NULL OR t.office = office_code)
         GROUP BY t.office
        UNION ALL
        -- ... everyone else counts the files they may see.
        SELECT f.office,
               count(*) FILTER (WHERE f.status IN ('at_base', 'checked_out')),
               count(*) FILTER (WHERE f.status = 'checked_out'),
               count(*) FILTER (WHERE f.status = 'in_transit'),
               count(*) FILTER (WHERE f.status = 'missing')
          FROM custody.file f
         WHERE NOT (SELECT custody.viewer_sees_all()) AND (office_code IS NULL OR f.office = office_code)
         GROUP BY f.office) files ON files.office = o.code
      LEFT JOIN (
        SELECT r.office, count(*) AS out, count(*) FILTER (WHERE r.expected_return < as_of) AS overdue
          FROM custody.removal r
         WHERE (SELECT custody.viewer_sees_all()) AND r.ended_at IS NULL
           AND (office_code IS NULL OR r.office = office_code)
         GROUP BY r.office
        UNION ALL
        SELECT r.office, NULL, count(*)
          FROM custody.removal r
          JOIN custody.file f ON f.id = r.file_id AND f.open_removal = r.id
         WHERE NOT (SELECT custody.viewer_sees_all()) AND r.ended_at IS NULL AND f.status = 'checked_out'
           AND r.expected_return < as_of AND (office_code IS NULL OR r.office = office_code)
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
