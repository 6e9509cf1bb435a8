-- The office manager's reports. Applied after the versioned migrations whenever this file
-- changes; each object here is defined once.

-- The summary lists the offices whose files the login answers for: their own, or every office for
-- a director. Another office's row would count only what the login happens to see there; and
-- counting one office's files lets the planner keep to that office's indexes.
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
         WHERE NOT (SELECT custody.viewer_sees_all()) AND f.office = (SELECT custody.viewer_office())
           AND (office_code IS NULL OR f.office = office_code)
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
           AND r.expected_return < as_of AND r.office = (SELECT custody.viewer_office())
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
     WHERE (office_code IS NULL OR o.code = office_code)
       AND ((SELECT custody.viewer_sees_all()) OR o.code = (SELECT custody.viewer_office()))
     ORDER BY o.code
  $$;
