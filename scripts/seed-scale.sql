-- Fills an empty, migrated custody database with a national-scale agency, in bulk, as the
-- database owner: 40 offices, 2,000 staff, cases of 1-4 volumes, :files files with about five
-- custody events each; a tenth checked out (three in ten of those overdue), 1.5% in transit (a
-- third late) and 0.5% missing. It writes the tables directly, so it ends by checking every invariant the
-- custody API keeps. Run by scripts/seed-scale.
\set ON_ERROR_STOP on
\timing off
SET client_min_messages = warning;
SET synchronous_commit = off;
SET maintenance_work_mem = '512MB';
SET work_mem = '256MB';

\echo seed: offices and staff
BEGIN;
INSERT INTO custody.office (code, name, email, next_label)
SELECT format('OF%s', lpad(o::text, 2, '0')), format('Office %s', o), format('office%s@example.org', o), 1
  FROM generate_series(1, 40) o;
INSERT INTO custody.secure_base (id, office) SELECT code, code FROM custody.office;

-- 50 staff per office: k=1 office manager, 2 service manager, 3-6 business support,
-- 7-42 practitioners (those with k divisible by 9 home-based and self-employed),
-- 43-50 family support workers; the first office's last one is the director.
CREATE TEMP TABLE seed_staff AS
SELECT format('s%s', lpad(((o - 1) * 50 + k)::text, 4, '0')) AS login, o, k,
       format('OF%s', lpad(o::text, 2, '0')) AS office,
       CASE WHEN o = 1 AND k = 50 THEN 'director'
            WHEN k = 1 THEN 'office-manager'
            WHEN k = 2 THEN 'service-manager'
            WHEN k <= 6 THEN 'business-support'
            WHEN k <= 42 THEN 'practitioner'
            ELSE 'family-support-worker' END AS role,
       k BETWEEN 7 AND 42 AND k % 9 = 0 AS home_based
  FROM generate_series(1, 40) o, generate_series(1, 50) k;
INSERT INTO custody.staff (login, name, role, office, employment, home_based)
SELECT login, format('Staff %s', login), role, office,
       CASE WHEN home_based THEN 'self-employed' ELSE 'employed' END, home_based
  FROM seed_staff;
INSERT INTO custody.secure_base (id, office, home_of)
SELECT 'home:' || login, office, login FROM seed_staff WHERE home_based;

DO $$
DECLARE
  member record;
BEGIN
  FOR member IN SELECT login, role FROM seed_staff LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = member.login) THEN
      EXECUTE format('CREATE ROLE %I LOGIN', member.login);
    END IF;
    EXECUTE format('GRANT %I TO %I', 'custody_' || replace(member.role, '-', '_'), member.login);
  END LOOP;
END
$$;
COMMIT;

\echo seed: cases and files
BEGIN;
-- The tally of files per office and state is counted once at the end, not row by row.
ALTER TABLE custody.file DISABLE TRIGGER file_tally, DISABLE TRIGGER file_tally_move;
-- Cases get 1-4 volumes; enough cases are made to reach :files files.
CREATE TEMP TABLE seed_case AS
SELECT c, 1 + (c % 40) AS o, 1 + (abs(hashint4(c)) % 4) AS volumes
  FROM generate_series(1, (:files / 2 + 10)) c;
CREATE TEMP TABLE seed_case_kept AS
SELECT c, o, volumes, sum(volumes) OVER (ORDER BY c) - volumes AS first_file
  FROM seed_case;
DELETE FROM seed_case_kept WHERE first_file >= :files;

INSERT INTO custody.case_record (id, number, office, law, classification, practitioner, opened_at, opened_by)
OVERRIDING SYSTEM VALUE
SELECT c, format('OF%s/C/%s', lpad(o::text, 2, '0'), lpad(c::text, 7, '0')),
       format('OF%s', lpad(o::text, 2, '0')),
       (ARRAY['private', 'public', 'adoption'])[1 + c % 3],
       CASE WHEN c % 33 = 0 THEN 'confidential' ELSE 'restricted' END,
       format('s%s', lpad(((o - 1) * 50 + 7 + c % 36)::text, 4, '0')),
       now() - make_interval(days => 400 + c % 1000), 's0003'
  FROM seed_case_kept;
INSERT INTO custody.case_child (case_id, born)
SELECT c, date '2005-01-01' + ((abs(hashint4(c * 7 + child)) % 7000))
  FROM seed_case_kept, generate_series(1, 1 + c % 3) child;

-- One row per file, with its fate: h < 100 checked out (h < 30 overdue), h < 115 in transit
-- (h < 105 late), h < 120 missing, h < 140 at a home base, otherwise at its office.
CREATE TEMP TABLE seed_file AS
SELECT (k.first_file + v)::bigint AS i, k.c, k.o, v AS volume,
       format('OF%s', lpad(k.o::text, 2, '0')) AS office,
       abs(hashint4((k.first_file + v)::int)) % 1000 AS h,
       now() - make_interval(days => 400 + k.c % 1000) AS registered_at
  FROM seed_case_kept k, generate_series(1, k.volumes) v
 WHERE k.first_file + v <= :files;
ALTER TABLE seed_file ADD PRIMARY KEY (i);
ALTER TABLE seed_file
  ADD COLUMN label text, ADD COLUMN status text, ADD COLUMN base text, ADD COLUMN holder text,
  ADD COLUMN destination text;
UPDATE seed_file SET
  label = format('%s-%s', office, lpad((row_number)::text, 6, '0')),
  status = CASE WHEN h < 100 THEN 'checked_out' WHEN h < 115 THEN 'in_transit' WHEN h < 120 THEN 'missing'
                ELSE 'at_base' END,
  base = CASE WHEN h BETWEEN 120 AND 139
              THEN format('home:s%s', lpad(((o - 1) * 50 + 9 * (1 + h % 4))::text, 4, '0'))
              ELSE office END,
  holder = CASE WHEN h < 100 THEN format('s%s', lpad(((o - 1) * 50 + 7 + i % 36)::text, 4, '0')) END,
  destination = CASE WHEN h BETWEEN 100 AND 114 THEN format('OF%s', lpad((1 + (o + 6) % 40)::text, 2, '0')) END
  FROM (SELECT i AS j, row_number() OVER (PARTITION BY office ORDER BY i) FROM seed_file) numbered
 WHERE numbered.j = seed_file.i;

INSERT INTO custody.file (id, label, case_id, volume, kind, status, base, office, status_since,
                          open_removal, open_transfer, holder, destination, confidential, practitioner,
                          case_office, registered_at)
OVERRIDING SYSTEM VALUE
-- Files going out or away start at their base; they move once their removal or transfer exists.
SELECT s.i, s.label, s.c, s.volume, CASE WHEN s.h % 17 = 0 THEN 'folder' ELSE 'file' END,
       CASE WHEN s.status = 'missing' THEN 'missing' ELSE 'at_base' END, s.base,
       s.office, now() - interval '1 day', NULL, NULL, NULL, NULL,
       c.classification = 'confidential', c.practitioner, c.office, s.registered_at
  FROM seed_file s JOIN custody.case_record c ON c.id = s.c;
UPDATE custody.office o SET next_label = counts.n + 1
  FROM (SELECT office, count(*) AS n FROM seed_file GROUP BY office) counts
 WHERE counts.office = o.code;
COMMIT;

\echo seed: removals and transfers
BEGIN;
-- Two removals in each file's past, returned; then the open ones.
INSERT INTO custody.removal (id, file_id, office, holder, whereabouts, out_at, expected_return,
                             ended_at, ended_by, ended_how)
OVERRIDING SYSTEM VALUE
SELECT 2 * s.i - 2 + cycle, s.i, s.office,
       format('s%s', lpad(((s.o - 1) * 50 + 7 + (s.i + cycle) % 36)::text, 4, '0')),
       (ARRAY['Family court', 'Home visit', 'School visit', 'Contact centre'])[1 + (s.i + cycle) % 4],
       s.registered_at + make_interval(days => 30 * cycle),
       s.registered_at + make_interval(days => 30 * cycle + 2),
       s.registered_at + make_interval(days => 30 * cycle + 1),
       format('s%s', lpad(((s.o - 1) * 50 + 7 + (s.i + cycle) % 36)::text, 4, '0')), 'returned'
  FROM seed_file s, generate_series(1, 2) cycle;
INSERT INTO custody.removal (id, file_id, office, holder, whereabouts, out_at, expected_return)
OVERRIDING SYSTEM VALUE
SELECT 2 * :files + s.i, s.i, s.office, s.holder,
       (ARRAY['Leeds family court, court 3', 'Home visit', 'Working at home', 'Contact centre'])[1 + s.i % 4],
       now() - make_interval(hours => 2 + (s.h % 5) * 24),
       CASE WHEN s.h < 30 THEN now() - (1 + s.i % 72) * interval '1 hour'
            ELSE now() + (1 + s.i % 120) * interval '1 hour' END
  FROM seed_file s WHERE s.status = 'checked_out';
INSERT INTO custody.transfer (id, file_id, from_base, to_base, from_office, to_office, method, carrier, reference,
                              seal, courier, dispatched_at, dispatched_by, expected_by)
OVERRIDING SYSTEM VALUE
SELECT s.i, s.i, s.base, s.destination, s.office, s.destination,
       CASE WHEN s.h % 2 = 0 THEN 'secure-carrier' ELSE 'hand' END,
       CASE WHEN s.h % 2 = 0 THEN 'Citysprint Secure' END,
       format('REF-%s', s.i), format('SEAL-%s', s.i),
       CASE WHEN s.h % 2 = 1 THEN format('s%s', lpad(((s.o - 1) * 50 + 3)::text, 4, '0')) END,
       now() - interval '1 day', format('s%s', lpad(((s.o - 1) * 50 + 3)::text, 4, '0')),
       CASE WHEN s.h < 105 THEN now() - (1 + s.i % 48) * interval '1 hour'
            ELSE now() + (1 + s.i % 72) * interval '1 hour' END
  FROM seed_file s WHERE s.status = 'in_transit';
UPDATE custody.file f SET status = s.status, open_removal = 2 * :files + f.id, holder = s.holder
  FROM seed_file s WHERE s.i = f.id AND s.status = 'checked_out';
UPDATE custody.file f SET status = s.status, open_transfer = f.id, destination = s.destination
  FROM seed_file s WHERE s.i = f.id AND s.status = 'in_transit';
COMMIT;

\echo seed: the custody record (about five events per file)
BEGIN;
-- Request ids are made from the event number, so the unique index grows at its end.
INSERT INTO custody.event (id, at, actor, kind, request_id, subject, case_id, file_id, base, holder, whereabouts,
                           expected_at, destination, method, carrier, reference, seal, courier, note)
OVERRIDING SYSTEM VALUE
SELECT n, at, actor, kind, lpad(to_hex(n), 32, '0')::uuid, label, c, i, base, holder, whereabouts,
       expected_at, destination, method, carrier, reference, seal, courier, note
  FROM (
    SELECT 5 * s.i - 4 AS n, s.registered_at AS at, format('s%s', lpad(((s.o - 1) * 50 + 3)::text, 4, '0')) AS actor,
           'registered' AS kind, s.label, s.c, s.i, s.office AS base, NULL AS holder, NULL AS whereabouts,
           NULL::timestamptz AS expected_at, NULL AS destination, NULL AS method, NULL AS carrier,
           NULL AS reference, NULL AS seal, NULL AS courier, NULL AS note
      FROM seed_file s
    UNION ALL
    -- Removal 2i-1 is the file's first cycle, 2i its second: events 5i-3/5i-2 and 5i-1/5i.
    SELECT 5 * s.i - 5 + 2 * (2 - r.id % 2),
           r.out_at, r.holder, 'checked_out', s.label, s.c, s.i, s.office, r.holder, r.whereabouts,
           r.expected_return, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM seed_file s JOIN custody.removal r ON r.file_id = s.i AND r.ended_at IS NOT NULL
    UNION ALL
    SELECT 5 * s.i - 4 + 2 * (2 - r.id % 2),
           r.ended_at, r.ended_by, 'returned', s.label, s.c, s.i, s.office, r.holder, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
      FROM seed_file s JOIN custody.removal r ON r.file_id = s.i AND r.ended_at IS NOT NULL
  ) history
 -- In id order: each event is chained to the one before it as it is inserted.
 ORDER BY n;
-- The event that put each file in its current state.
INSERT INTO custody.event (id, at, actor, kind, request_id, subject, case_id, file_id, base, holder, whereabouts,
                           expected_at, destination, method, carrier, reference, seal, courier, note)
OVERRIDING SYSTEM VALUE
SELECT 5 * :files + row_number() OVER (ORDER BY s.i), now() - interval '1 day',
       coalesce(s.holder, format('s%s', lpad(((s.o - 1) * 50 + 3)::text, 4, '0'))),
       CASE s.status WHEN 'checked_out' THEN 'checked_out' WHEN 'in_transit' THEN 'dispatched'
                     WHEN 'missing' THEN 'missing' ELSE 'received' END,
       lpad(to_hex(5 * :files + row_number() OVER (ORDER BY s.i)), 32, '0')::uuid,
       s.label, s.c, s.i, s.base, s.holder, r.whereabouts, coalesce(r.expected_return, t.expected_by),
       t.to_base, t.method, t.carrier, t.reference, t.seal, t.courier,
       CASE WHEN s.status = 'missing' THEN 'not found at the stocktake' END
  FROM seed_file s
  LEFT JOIN custody.removal r ON r.id = 2 * :files + s.i
  LEFT JOIN custody.transfer t ON t.id = s.i
 WHERE s.status <> 'at_base' OR s.base <> s.office
 ORDER BY s.i;
COMMIT;

\echo seed: the tally of files per office and state
BEGIN;
TRUNCATE custody.office_tally;
INSERT INTO custody.office_tally (office, status, files)
SELECT f.office, custody.tally_status(f.status), count(*) FROM custody.file f GROUP BY 1, 2;
ALTER TABLE custody.file ENABLE TRIGGER file_tally, ENABLE TRIGGER file_tally_move;
COMMIT;

\echo seed: identity sequences and statistics
-- Past every id written above (events, the most numerous, stay under 6 per file).
SELECT count(setval(pg_get_serial_sequence('custody.' || t, 'id'), 6 * :files + 1000, false)) AS sequences
  FROM unnest(ARRAY['case_record', 'file', 'removal', 'transfer', 'event']) t \gset
VACUUM (ANALYZE) custody.office, custody.office_tally, custody.staff, custody.secure_base, custody.case_record, custody.case_child,
  custody.file, custody.removal, custody.transfer, custody.event;
