-- Checks that the current state agrees with itself and with the custody record: the invariants
-- the custody API keeps. Prints each check with the number of rows that break it; fails if any do.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SET work_mem = '256MB';

CREATE TEMP TABLE seed_violation (invariant text, rows bigint);

INSERT INTO seed_violation
SELECT 'a checked-out file has exactly its open removal, with the same holder and office', count(*)
  FROM custody.file f
 WHERE (f.status = 'checked_out') <> EXISTS (
         SELECT FROM custody.removal r
          WHERE r.id = f.open_removal AND r.file_id = f.id AND r.ended_at IS NULL
            AND r.holder = f.holder AND r.office = f.office)
    OR (SELECT count(*) FROM custody.removal r WHERE r.file_id = f.id AND r.ended_at IS NULL)
       <> (f.status = 'checked_out')::int;

INSERT INTO seed_violation
SELECT 'a file in transit has exactly its open transfer, from its base to its destination', count(*)
  FROM custody.file f
 WHERE (f.status = 'in_transit') <> EXISTS (
         SELECT FROM custody.transfer t
          WHERE t.id = f.open_transfer AND t.file_id = f.id AND t.ended_at IS NULL
            AND t.from_base = f.base AND t.to_base = f.destination AND t.from_office = f.office)
    OR (SELECT count(*) FROM custody.transfer t WHERE t.file_id = f.id AND t.ended_at IS NULL)
       <> (f.status = 'in_transit')::int;

INSERT INTO seed_violation
SELECT 'a file''s office is its secure base''s office', count(*)
  FROM custody.file f JOIN custody.secure_base b ON b.id = f.base
 WHERE b.office <> f.office;

INSERT INTO seed_violation
SELECT 'a file carries its case''s classification, practitioner and office', count(*)
  FROM custody.file f JOIN custody.case_record c ON c.id = f.case_id
 WHERE f.confidential <> (c.classification = 'confidential') OR f.practitioner IS DISTINCT FROM c.practitioner
    OR f.case_office <> c.office;

INSERT INTO seed_violation
SELECT 'a transfer''s offices are its secure bases'' offices', count(*)
  FROM custody.transfer t
  JOIN custody.secure_base fb ON fb.id = t.from_base
  JOIN custody.secure_base tb ON tb.id = t.to_base
 WHERE fb.office <> t.from_office OR tb.office <> t.to_office;

INSERT INTO seed_violation
SELECT 'the tally of files per office and state matches the files', count(*)
  FROM (SELECT f.office, custody.tally_status(f.status) AS status, count(*) AS files
          FROM custody.file f GROUP BY 1, 2) counted
  FULL JOIN (SELECT t.office, t.status, t.files FROM custody.office_tally t WHERE t.files <> 0) tallied
    USING (office, status)
 WHERE counted.files IS DISTINCT FROM tallied.files;

CREATE TEMP TABLE seed_ends AS
-- A stocktake's 'seen' event changes nothing, so the last event that counts is the last other one.
SELECT e.file_id, min(e.id) AS first_event, max(e.id) FILTER (WHERE e.kind <> 'seen') AS last_event,
       count(*) AS events
  FROM custody.event e WHERE e.file_id IS NOT NULL GROUP BY e.file_id;

INSERT INTO seed_violation
SELECT 'every file''s record begins with its registration', count(*)
  FROM custody.file f
  LEFT JOIN seed_ends s ON s.file_id = f.id
  LEFT JOIN custody.event e ON e.id = s.first_event
 WHERE e.kind IS DISTINCT FROM 'registered';

INSERT INTO seed_violation
SELECT 'every file''s last event put it in its current state and base', count(*)
  FROM custody.file f
  JOIN seed_ends s ON s.file_id = f.id
  JOIN custody.event e ON e.id = s.last_event
 WHERE e.base IS DISTINCT FROM CASE WHEN f.status = 'at_base' OR e.kind <> 'received' THEN f.base END
    OR NOT CASE f.status
             WHEN 'at_base' THEN e.kind IN ('registered', 'returned', 'received', 'transfer_cancelled', 'found')
             WHEN 'checked_out' THEN e.kind IN ('checked_out', 'extended') AND e.holder = f.holder
             WHEN 'in_transit' THEN e.kind = 'dispatched' AND e.destination = f.destination
             WHEN 'missing' THEN e.kind = 'missing'
             ELSE e.kind = 'destroyed'
           END;

INSERT INTO seed_violation
SELECT 'every office''s next label is past its labels', count(*)
  FROM custody.office o
 WHERE EXISTS (
   SELECT FROM custody.file f
    WHERE f.label ~ ('^' || o.code || '-[0-9]{6}$')
      AND substr(f.label, length(o.code) + 2)::integer >= o.next_label);

SELECT invariant, rows FROM seed_violation ORDER BY invariant;
SELECT (SELECT count(*) FROM custody.file) AS files, (SELECT count(*) FROM custody.event) AS events,
       (SELECT count(*) FROM custody.case_record) AS cases, (SELECT count(*) FROM custody.staff) AS staff;
SELECT coalesce(sum(rows), 0) > 0 AS broken FROM seed_violation \gset
\if :broken
  \echo seed-check: FAILED
  DO $$ BEGIN RAISE EXCEPTION 'the data breaks the invariants above'; END $$;
\endif
\echo seed-check: every invariant holds
