-- The office manager's reports: SQL over the current-state tables and their indexes, evaluated at
-- an instant (as_of, default now). They run with the caller's rights, so row-level security shows
-- each person only what they may see; they are plain SQL functions, which the planner inlines into
-- the calling query, so an office filter reaches the indexes. A NULL office_code means every
-- office the caller can see.
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

-- Checked-out files. Overdue means the (possibly extended) return time has passed. The open removal
-- is joined from its file as well (file.open_removal, with the file's status), which lets the
-- planner start from the checked-out files the login may see when no office is named, and from
-- removal_open_by_office when one is.
CREATE OR REPLACE FUNCTION custody.report_out(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, office text, holder text, holder_name text, whereabouts text,
    checked_out_at timestamptz, expected_return timestamptz, overdue boolean, overdue_minutes bigint,
    holder_deactivated boolean)
  LANGUAGE sql STABLE
  AS $$
    SELECT f.label, c.number, r.office, r.holder,
           (SELECT s.name FROM custody.staff s WHERE s.login = r.holder), r.whereabouts, r.out_at, r.expected_return,
           r.expected_return < as_of,
           greatest(floor(extract(epoch FROM as_of - r.expected_return) / 60), 0)::bigint,
           (SELECT s.deactivated_at IS NOT NULL FROM custody.staff s WHERE s.login = r.holder)
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
    label text, case_number text, office text, holder text, holder_name text, whereabouts text,
    checked_out_at timestamptz, expected_return timestamptz, overdue_minutes bigint, holder_deactivated boolean)
  LANGUAGE sql STABLE
  AS $$
    SELECT o.label, o.case_number, o.office, o.holder, o.holder_name, o.whereabouts, o.checked_out_at,
           o.expected_return, o.overdue_minutes, o.holder_deactivated
      FROM custody.report_out(office_code, as_of) o
     WHERE o.overdue
     ORDER BY o.expected_return, o.label
  $$;

-- Transfers dispatched and not yet received, to or from the office. Late means the expected
-- arrival has passed.
CREATE OR REPLACE FUNCTION custody.report_transit(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, from_base text, to_base text, method text, carrier text, reference text,
    seal text, dispatched_at timestamptz, expected_by timestamptz, late boolean)
  LANGUAGE sql STABLE
  AS $$
    SELECT f.label, c.number, t.from_base, t.to_base, t.method, t.carrier, t.reference, t.seal,
           t.dispatched_at, t.expected_by, t.expected_by < as_of
      FROM custody.transfer t
      JOIN custody.file f ON f.id = t.file_id
      JOIN custody.case_record c ON c.id = f.case_id
     WHERE t.ended_at IS NULL
       AND (office_code IS NULL OR t.to_office = office_code OR t.from_office = office_code)
     ORDER BY t.expected_by, f.label
  $$;

-- Transfers coming to the office, soonest first; with no office named, those coming to the
-- login's office or home base.
CREATE OR REPLACE FUNCTION custody.report_arrivals(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, from_base text, to_base text, method text, carrier text, reference text,
    seal text, dispatched_at timestamptz, expected_by timestamptz, late boolean)
  LANGUAGE sql STABLE
  AS $$
    SELECT f.label, c.number, t.from_base, t.to_base, t.method, t.carrier, t.reference, t.seal,
           t.dispatched_at, t.expected_by, t.expected_by < as_of
      FROM custody.transfer t
      JOIN custody.file f ON f.id = t.file_id
      JOIN custody.case_record c ON c.id = f.case_id
     WHERE t.ended_at IS NULL
       AND CASE WHEN office_code IS NULL
                THEN t.to_office = (SELECT custody.viewer_office()) OR t.to_base = 'home:' || custody.session_login()
                ELSE t.to_office = office_code END
     ORDER BY t.expected_by, f.label
  $$;

-- Files recorded missing (policy 6.1): since when, who reported it and why, and who last held
-- each. A file is missing until found, so as_of does not change the rows.
CREATE OR REPLACE FUNCTION custody.report_missing_files(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    label text, case_number text, office text, since timestamptz, reported_by text, reason text, last_holder text)
  LANGUAGE sql STABLE
  AS $$
    SELECT f.label, c.number, f.office, f.status_since, reported.actor, reported.note,
           (SELECT r.holder FROM custody.removal r WHERE r.file_id = f.id ORDER BY r.out_at DESC, r.id DESC LIMIT 1)
      FROM custody.file f
      JOIN custody.case_record c ON c.id = f.case_id
      LEFT JOIN LATERAL (
        -- Who reported it missing and why; for a file imported as missing, who imported it and from which line.
        SELECT e.actor, e.note FROM custody.event e
         WHERE e.file_id = f.id AND e.kind IN ('missing', 'imported') ORDER BY e.id DESC LIMIT 1) reported ON true
     WHERE f.status = 'missing' AND (office_code IS NULL OR f.office = office_code)
     ORDER BY f.status_since, f.label
  $$;

-- What policy 6.1 calls breaches, newest first, from since to as_of: files gone missing, seal
-- discrepancies at receipt, transfers received after their expected arrival and files returned
-- after their return time. A receipt belongs to the receiving office and is listed for the
-- sending office too. Each kind is read from its own partial index.
CREATE OR REPLACE FUNCTION custody.report_incidents(
  office_code text DEFAULT NULL, as_of timestamptz DEFAULT now(), since timestamptz DEFAULT '-infinity')
  RETURNS TABLE (kind text, label text, case_number text, office text, at timestamptz, actor text, details text)
  LANGUAGE sql STABLE
  AS $$
    SELECT * FROM (
      SELECT 'missing'::text AS kind, f.label, c.number AS case_number, b.office, e.at, e.actor,
             format('missing from %s: %s', e.base, e.note) AS details
        FROM custody.event e
        JOIN custody.secure_base b ON b.id = e.base
        JOIN custody.file f ON f.id = e.file_id
        JOIN custody.case_record c ON c.id = f.case_id
       WHERE e.kind = 'missing' AND e.at >= since AND e.at <= as_of
         AND (office_code IS NULL OR b.office = office_code)
      UNION ALL
      SELECT incident.kind, f.label, c.number, t.to_office, t.ended_at, t.ended_by,
             CASE incident.kind
               WHEN 'seal_discrepancy' THEN format('from %s to %s: dispatched with seal %s, received with seal %s',
                                                   t.from_base, t.to_base, coalesce(t.seal, 'none'), t.received_seal)
               ELSE format('from %s to %s: expected by %s, received %s', t.from_base, t.to_base,
                           custody.local_time(t.expected_by), custody.local_time(t.ended_at))
             END
        FROM custody.transfer t
        JOIN custody.file f ON f.id = t.file_id
        JOIN custody.case_record c ON c.id = f.case_id
        CROSS JOIN LATERAL (
          SELECT 'seal_discrepancy'::text AS kind WHERE t.seal_discrepancy
          UNION ALL
          SELECT 'late_receipt' WHERE t.ended_at > t.expected_by) incident
       WHERE t.ended_how = 'received' AND (t.seal_discrepancy OR t.ended_at > t.expected_by)
         AND t.ended_at >= since AND t.ended_at <= as_of
         AND (office_code IS NULL OR t.to_office = office_code OR t.from_office = office_code)
      UNION ALL
      SELECT 'late_return', f.label, c.number, r.office, r.ended_at, r.ended_by,
             format('held by %s at %s, due back %s, returned %s', r.holder, r.whereabouts,
                    custody.local_time(r.expected_return), custody.local_time(r.ended_at))
        FROM custody.removal r
        JOIN custody.file f ON f.id = r.file_id
        JOIN custody.case_record c ON c.id = f.case_id
       WHERE r.ended_how = 'returned' AND r.ended_at > r.expected_return
         AND r.ended_at >= since AND r.ended_at <= as_of
         AND (office_code IS NULL OR r.office = office_code)
    ) incidents
    ORDER BY at DESC, label, kind
  $$;

-- Ended cases not yet closed: closure and the file's return are due 28 days after the end.
CREATE OR REPLACE FUNCTION custody.report_closures(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
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
CREATE OR REPLACE FUNCTION custody.report_destruction(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
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

-- The summary lists the offices whose files the login answers for: their own, or every office for
-- a director. Another office's row would count only what the login happens to see there; and
-- counting one office's files lets the planner keep to that office's indexes. last_stocktake is when
-- the office's latest stocktake finished, of those the login may see (custody.stocktake's policy).
DROP FUNCTION IF EXISTS custody.report_summary(text, timestamptz);
CREATE FUNCTION custody.report_summary(office_code text DEFAULT NULL, as_of timestamptz DEFAULT now())
  RETURNS TABLE (
    office text, at_base bigint, checked_out bigint, overdue bigint, in_transit bigint,
    late_transit bigint, missing bigint, closures_overdue bigint, last_stocktake timestamptz)
  LANGUAGE sql STABLE
  AS $$
    SELECT o.code,
           coalesce(files.at_base, 0) - coalesce(files.checked_out, removals.out, 0),
           coalesce(files.checked_out, removals.out, 0), coalesce(removals.overdue, 0),
           coalesce(files.in_transit, 0), coalesce(transfers.late, 0), coalesce(files.missing, 0),
           coalesce(closures.overdue, 0),
           (SELECT max(s.finished_at) FROM custody.stocktake s
             WHERE s.office = o.code AND s.finished_at <= as_of)
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

GRANT EXECUTE ON FUNCTION
  custody.report_out(text,timestamp with time zone),
  custody.report_overdue(text,timestamp with time zone),
  custody.report_transit(text,timestamp with time zone),
  custody.report_arrivals(text,timestamp with time zone),
  custody.report_closures(text,timestamp with time zone),
  custody.report_missing_files(text,timestamp with time zone),
  custody.report_incidents(text,timestamp with time zone,timestamp with time zone),
  custody.report_destruction(text,timestamp with time zone),
  custody.report_summary(text,timestamp with time zone)
  TO custody_staff;
