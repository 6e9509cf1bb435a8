-- Notifications: which messages are due at an instant and to whom, composed once each into the
-- outbox (custody.message), withdrawn when their cause has gone, and handed out one at a time to
-- the client that delivers them. The client renders the mail from each message's facts.
-- Applied after the versioned migrations whenever a file of engine/ changes, in name order, each
-- object written to be applied again: CREATE OR REPLACE, or DROP ... IF EXISTS then CREATE.

-- Composing and delivering is for the database owner, directors and the notifier's logins.
CREATE OR REPLACE FUNCTION custody.require_notifier() RETURNS void
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF NOT custody.viewer_sees_all() THEN
    RAISE EXCEPTION 'only the database owner, a director or a member of custody_notifier may send notifications'
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'the DBA grants custody_notifier to the login that runs ''custody notify run'' from cron';
  END IF;
END
$$;

-- The people a message about an office goes to: its office managers still in post.
CREATE OR REPLACE FUNCTION custody.office_managers(office_code text)
  RETURNS TABLE (login text, email text)
  LANGUAGE sql STABLE
  AS $$
    SELECT s.login, s.email FROM custody.staff s
     WHERE s.office = office_code AND s.role = 'office-manager' AND s.deactivated_at IS NULL
  $$;

-- A secure base's address: the office's, or the home-based worker's own.
CREATE OR REPLACE FUNCTION custody.base_recipient(base text, OUT recipient text, OUT email text, OUT office text)
  LANGUAGE sql STABLE
  AS $$
    SELECT coalesce(b.home_of, b.id), coalesce(s.email, CASE WHEN b.home_of IS NULL THEN o.email END), b.office
      FROM custody.secure_base b
      JOIN custody.office o ON o.code = b.office
      LEFT JOIN custody.staff s ON s.login = b.home_of
     WHERE b.id = base
  $$;

-- What a transfer's messages say.
CREATE OR REPLACE FUNCTION custody.transfer_facts(t custody.transfer, label text, case_number text) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$
    SELECT jsonb_build_object(
      'label', label, 'case', case_number, 'from', t.from_base, 'to', t.to_base, 'method', t.method,
      'carrier', t.carrier, 'reference', t.reference, 'seal', t.seal, 'courier', t.courier,
      'dispatched_by', t.dispatched_by, 'dispatched_at', t.dispatched_at, 'expected_by', t.expected_by,
      'received_by', t.ended_by, 'received_at', CASE WHEN t.ended_how = 'received' THEN t.ended_at END,
      'received_seal', t.received_seal, 'seal_discrepancy', t.seal_discrepancy)
  $$;

-- What a removal's messages say.
CREATE OR REPLACE FUNCTION custody.removal_facts(r custody.removal, label text, case_number text) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$
    SELECT jsonb_build_object(
      'label', label, 'case', case_number, 'office', r.office, 'holder', r.holder,
      'holder_name', (SELECT s.name FROM custody.staff s WHERE s.login = r.holder),
      'whereabouts', r.whereabouts, 'checked_out_at', r.out_at, 'expected_return', r.expected_return)
  $$;

-- What an office's managers read each morning: what is overdue, late in transit, arriving today,
-- and closures due.
CREATE OR REPLACE FUNCTION custody.digest_facts(office_code text, day date, as_of timestamptz) RETURNS jsonb
  LANGUAGE sql STABLE
  AS $$
    SELECT jsonb_build_object(
      'office', office_code, 'day', day,
      'overdue', coalesce((
        SELECT jsonb_agg(jsonb_build_object('label', o.label, 'case', o.case_number, 'holder', o.holder,
                                            'holder_name', o.holder_name, 'whereabouts', o.whereabouts,
                                            'expected_return', o.expected_return) ORDER BY o.expected_return)
          FROM custody.report_overdue(office_code, as_of) o), '[]'),
      'late_transit', coalesce((
        SELECT jsonb_agg(jsonb_build_object('label', t.label, 'case', t.case_number, 'from', t.from_base,
                                            'to', t.to_base, 'expected_by', t.expected_by) ORDER BY t.expected_by)
          FROM custody.report_transit(office_code, as_of) t WHERE t.late), '[]'),
      'arriving_today', coalesce((
        SELECT jsonb_agg(jsonb_build_object('label', a.label, 'case', a.case_number, 'from', a.from_base,
                                            'to', a.to_base, 'expected_by', a.expected_by) ORDER BY a.expected_by)
          FROM custody.report_arrivals(office_code, as_of) a WHERE a.expected_by::date = day), '[]'),
      'closures_due', coalesce((
        SELECT jsonb_agg(jsonb_build_object('case', c.case_number, 'practitioner', c.practitioner,
                                            'due_on', c.due_on, 'overdue', c.overdue) ORDER BY c.due_on)
          FROM custody.report_closures(office_code, as_of) c WHERE c.due_on <= as_of::date + 7), '[]'))
  $$;

-- Whether a message with this key was composed: each kind's rows ask before their facts are built,
-- so a run with nothing new due reads only the keys.
CREATE OR REPLACE FUNCTION custody.message_exists(message_key text) RETURNS boolean
  LANGUAGE sql STABLE
  RETURN EXISTS (SELECT FROM custody.message m WHERE m.key = message_key);

-- Whether an open removal's return time falls after `since` and by as_of, in any office (from
-- removal_open_by_office, office by office), with no message of `kind` composed for it yet.
CREATE OR REPLACE FUNCTION custody.returns_due_between(kind text, since timestamptz, as_of timestamptz)
  RETURNS boolean
  LANGUAGE sql STABLE
  AS $$
    SELECT EXISTS (
      SELECT FROM custody.office o
       CROSS JOIN LATERAL (
         SELECT FROM custody.removal r
          WHERE r.office = o.code AND r.ended_at IS NULL AND r.expected_return > since AND r.expected_return <= as_of
            AND NOT EXISTS (
              SELECT FROM custody.message m
               WHERE m.removal_id = r.id
                 -- Qualified: a bare kind would be the message's column.
                 AND m.key LIKE returns_due_between.kind || ':' || r.id || ':'
                                || extract(epoch FROM r.expected_return)::bigint || ':%')
          LIMIT 1) r)
  $$;

-- The kinds of message whose cause may have arisen from `since` to as_of and has no message
-- composed yet (none whose key begins with the cause's: its key without the recipient, found
-- from the cause's transfer, removal or case): each branch of notifications_due below, reduced to
-- the window of its cause and read from the same index, so that a kind not listed has nothing
-- due. A run with nothing new (most runs from cron) then never plans that statement, much the
-- costlier in a new session.
CREATE OR REPLACE FUNCTION custody.notify_causes(since timestamptz, as_of timestamptz) RETURNS text[]
  LANGUAGE sql STABLE
  AS $$
    SELECT ARRAY(SELECT cause.kind FROM (VALUES
      ('expected_arrival', EXISTS (
         SELECT FROM custody.transfer t
          WHERE t.dispatched_at > since AND t.dispatched_at <= as_of AND t.ended_at IS NULL
            AND NOT EXISTS (
              SELECT FROM custody.message m
               WHERE m.transfer_id = t.id AND m.key LIKE 'expected_arrival:' || t.id || ':%'))),
      ('receipt', EXISTS (
         SELECT FROM custody.transfer t
          WHERE t.ended_how = 'received' AND t.ended_at > since AND t.ended_at <= as_of
            AND NOT EXISTS (
              SELECT FROM custody.message m
               WHERE m.transfer_id = t.id AND m.key LIKE 'receipt:' || t.id || ':%'))),
      ('late_transit', EXISTS (
         SELECT FROM custody.transfer t
          WHERE t.ended_at IS NULL AND t.expected_by > since AND t.expected_by <= as_of
            AND NOT EXISTS (
              SELECT FROM custody.message m
               WHERE m.transfer_id = t.id AND m.key LIKE 'late_transit:' || t.id || ':%'))),
      ('overdue', custody.returns_due_between('overdue', since, as_of)),
      ('overdue_escalation',
       custody.returns_due_between('overdue_escalation', since - interval '24 hours', as_of - interval '24 hours')),
      -- A closure is due at the later of 21 days after the end and the end's recording.
      ('closure_due', EXISTS (
         SELECT FROM custody.case_record c
          WHERE c.ended_on IS NOT NULL AND c.closed_on IS NULL
            AND c.ended_on >= since::date - 22 AND c.ended_on <= as_of::date - 20
            AND (c.ended_on + 21)::timestamptz > since AND (c.ended_on + 21)::timestamptz <= as_of
            AND NOT EXISTS (
              SELECT FROM custody.message m
               WHERE m.case_id = c.id AND m.key LIKE 'closure_due:' || c.id || ':' || c.ended_on || ':%'))
       OR EXISTS (
         SELECT FROM custody.event e JOIN custody.case_record c ON c.id = e.case_id
          WHERE e.kind = 'case_ended' AND e.at > since AND e.at <= as_of
            AND NOT EXISTS (
              SELECT FROM custody.message m
               WHERE m.case_id = c.id AND m.key LIKE 'closure_due:' || c.id || ':' || c.ended_on || ':%'))),
      ('digest', as_of >= (as_of::date + time '07:00')::timestamptz AND EXISTS (
         SELECT FROM custody.office o CROSS JOIN LATERAL custody.office_managers(o.code) m
          -- OFFSET 0 keeps the look to the key's index.
          WHERE NOT EXISTS (
            SELECT FROM custody.message d WHERE d.key = 'digest:' || o.code || ':' || as_of::date || ':' || m.login
            OFFSET 0)))
    ) cause (kind, found) WHERE cause.found)
  $$;

-- Everything due at as_of whose cause arose from `since` on and is not composed yet, one row per
-- message. A cause is an
-- instant: a dispatch, a receipt, an expected arrival or return time passing, a day's 07:00; each
-- is read from an index by that instant.
CREATE OR REPLACE FUNCTION custody.notifications_due(since timestamptz, as_of timestamptz)
  RETURNS TABLE (
    key text, kind text, office text, label text, case_number text, recipient text, address text, facts jsonb,
    transfer_id bigint, removal_id bigint, case_id bigint, due_at timestamptz)
  LANGUAGE sql STABLE
  AS $$
    -- A dispatch: the receiving base is told what is coming.
    SELECT 'expected_arrival:' || t.id || ':' || b.recipient, 'expected_arrival', b.office, f.label, c.number,
           b.recipient, b.email, custody.transfer_facts(t, f.label, c.number), t.id, NULL::bigint, NULL::bigint,
           t.dispatched_at
      FROM custody.transfer t
      JOIN custody.file f ON f.id = t.file_id
      JOIN custody.case_record c ON c.id = f.case_id
      CROSS JOIN LATERAL custody.base_recipient(t.to_base) b
     WHERE t.dispatched_at > since AND t.dispatched_at <= as_of AND t.ended_at IS NULL
       AND NOT custody.message_exists('expected_arrival:' || t.id || ':' || b.recipient)
    UNION ALL
    -- A receipt: the sending office and whoever dispatched it.
    SELECT 'receipt:' || t.id || ':' || who.recipient, 'receipt', who.office, f.label, c.number, who.recipient,
           who.email, custody.transfer_facts(t, f.label, c.number), t.id, NULL, NULL, t.ended_at
      FROM custody.transfer t
      JOIN custody.file f ON f.id = t.file_id
      JOIN custody.case_record c ON c.id = f.case_id
      CROSS JOIN LATERAL (
        SELECT o.code AS recipient, o.email, o.code AS office FROM custody.office o WHERE o.code = t.from_office
        UNION
        SELECT s.login, s.email, s.office FROM custody.staff s
         WHERE s.login = t.dispatched_by AND s.deactivated_at IS NULL) who
     WHERE t.ended_how = 'received' AND t.ended_at > since AND t.ended_at <= as_of
       AND NOT custody.message_exists('receipt:' || t.id || ':' || who.recipient)
    UNION ALL
    -- A transfer past its expected arrival: the sending and the receiving office.
    SELECT 'late_transit:' || t.id || ':' || who.recipient, 'late_transit', who.office, f.label, c.number,
           who.recipient, who.email, custody.transfer_facts(t, f.label, c.number), t.id, NULL, NULL, t.expected_by
      FROM custody.transfer t
      JOIN custody.file f ON f.id = t.file_id
      JOIN custody.case_record c ON c.id = f.case_id
      CROSS JOIN LATERAL (
        SELECT o.code AS recipient, o.email, o.code AS office FROM custody.office o WHERE o.code = t.from_office
        UNION
        SELECT b.recipient, b.email, b.office FROM custody.base_recipient(t.to_base) b) who
     WHERE t.ended_at IS NULL AND t.expected_by > since AND t.expected_by <= as_of
       AND NOT custody.message_exists('late_transit:' || t.id || ':' || who.recipient)
    UNION ALL
    -- A checked-out file past its return time: its holder; 24 hours later, its office's managers too.
    SELECT due.kind || ':' || r.id || ':' || extract(epoch FROM r.expected_return)::bigint || ':' || who.login,
           due.kind, r.office, f.label, c.number, who.login, who.email, custody.removal_facts(r, f.label, c.number),
           NULL, r.id, NULL, due.at
      FROM (VALUES ('overdue', interval '0'), ('overdue_escalation', interval '24 hours')) due_kind (kind, late)
      CROSS JOIN custody.office o
      -- Each office's open removals whose return time falls in the window, from removal_open_by_office
      -- (OFFSET 0 keeps the window's bounds in that index's condition).
      CROSS JOIN LATERAL (
        SELECT * FROM custody.removal r
         WHERE r.office = o.code AND r.ended_at IS NULL
           AND r.expected_return > since - due_kind.late AND r.expected_return <= as_of - due_kind.late
        OFFSET 0) r
      CROSS JOIN LATERAL (SELECT due_kind.kind, r.expected_return + due_kind.late AS at) due
      JOIN custody.file f ON f.id = r.file_id
      JOIN custody.case_record c ON c.id = f.case_id
      CROSS JOIN LATERAL (
        SELECT s.login, s.email FROM custody.staff s WHERE s.login = r.holder AND s.deactivated_at IS NULL
        UNION
        SELECT m.login, m.email FROM custody.office_managers(r.office) m WHERE due.kind = 'overdue_escalation') who
     WHERE NOT custody.message_exists(
             due.kind || ':' || r.id || ':' || extract(epoch FROM r.expected_return)::bigint || ':' || who.login)
    UNION ALL
    -- An ended case whose closure is due within 7 days, or overdue: its practitioner and the
    -- office's managers. Due from the day seven days before the closure date, or from when the end
    -- was recorded, whichever is later.
    SELECT 'closure_due:' || c.id || ':' || c.ended_on || ':' || who.login, 'closure_due', c.office, NULL, c.number,
           who.login, who.email,
           jsonb_build_object('case', c.number, 'office', c.office, 'practitioner', c.practitioner,
                              'ended_on', c.ended_on, 'due_on', c.ended_on + 28,
                              'files_not_at_base', (SELECT count(*) FROM custody.file v
                                                     WHERE v.case_id = c.id AND v.status NOT IN ('at_base', 'destroyed'))),
           NULL, NULL, c.id, due.at
      FROM custody.case_record c
      CROSS JOIN LATERAL (
        SELECT greatest((c.ended_on + 21)::timestamptz,
                        (SELECT max(e.at) FROM custody.event e WHERE e.case_id = c.id AND e.kind = 'case_ended')) AS at) due
      CROSS JOIN LATERAL (
        SELECT s.login, s.email FROM custody.staff s WHERE s.login = c.practitioner AND s.deactivated_at IS NULL
        UNION
        SELECT m.login, m.email FROM custody.office_managers(c.office) m) who
     WHERE c.ended_on IS NOT NULL AND c.closed_on IS NULL AND due.at > since AND due.at <= as_of
       AND NOT custody.message_exists('closure_due:' || c.id || ':' || c.ended_on || ':' || who.login)
    UNION ALL
    -- Once a day per office, at the first run after 07:00 local time: its managers' digest.
    SELECT 'digest:' || o.code || ':' || day.on || ':' || m.login, 'digest', o.code, NULL, NULL, m.login, m.email,
           custody.digest_facts(o.code, day.on, as_of), NULL, NULL, NULL, day.at
      FROM custody.office o
      CROSS JOIN LATERAL (SELECT as_of::date AS on, (as_of::date + time '07:00')::timestamptz AS at) day
      CROSS JOIN LATERAL custody.office_managers(o.code) m
     WHERE as_of >= day.at
       AND NOT custody.message_exists('digest:' || o.code || ':' || day.on || ':' || m.login)
  $$;

-- Composes what is due at as_of into the outbox, once each, and withdraws queued messages whose
-- cause has gone. It looks back from ten minutes before the last run's instant, so a cause
-- recorded by a transaction that was still open while that run read is not missed; a run after a
-- missed one catches up. Returns how many it
-- composed and withdrew.
CREATE OR REPLACE FUNCTION custody.notify_compose(as_of timestamptz, OUT composed integer, OUT withdrawn integer)
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  looked_to timestamptz;
  since timestamptz;
BEGIN
  PERFORM custody.require_notifier();
  IF as_of IS NULL OR NOT isfinite(as_of) THEN
    RAISE EXCEPTION 'the instant to compose at must be a time' USING ERRCODE = 'U0003';
  END IF;
  -- One composer at a time; a second run waits here, then finds the messages composed.
  SELECT s.composed_to INTO looked_to FROM custody.notify_state s WHERE s.id = 1 FOR UPDATE;
  since := coalesce(looked_to - interval '10 minutes', '-infinity');
  composed := 0;
  IF cardinality(custody.notify_causes(since, as_of)) > 0 THEN
    INSERT INTO custody.message AS m (key, kind, office, label, case_number, recipient, address, facts, transfer_id,
                                      removal_id, case_id, due_at, composed_at, status, error)
    SELECT d.key, d.kind, d.office, d.label, d.case_number, d.recipient, d.address, d.facts, d.transfer_id,
           d.removal_id, d.case_id, d.due_at, as_of,
           CASE WHEN d.address IS NULL THEN 'failed' ELSE 'queued' END,
           CASE WHEN d.address IS NULL THEN 'no address' END
      FROM custody.notifications_due(since, as_of) d
    ON CONFLICT (key) DO NOTHING;
    GET DIAGNOSTICS composed = ROW_COUNT;
  END IF;
  -- A message whose cause has gone before it was sent: the file came back or was extended, the
  -- transfer arrived or was cancelled, the case was closed.
  withdrawn := 0;
  IF EXISTS (SELECT FROM custody.message m WHERE m.status = 'queued') THEN
    UPDATE custody.message m SET status = 'withdrawn', error = 'its cause has gone'
     WHERE m.status = 'queued' AND (
           (m.kind IN ('overdue', 'overdue_escalation') AND NOT EXISTS (
              SELECT FROM custody.removal r
               WHERE r.id = m.removal_id AND r.ended_at IS NULL
                 AND r.expected_return = (m.facts ->> 'expected_return')::timestamptz))
        OR (m.kind IN ('expected_arrival', 'late_transit') AND NOT EXISTS (
              SELECT FROM custody.transfer t WHERE t.id = m.transfer_id AND t.ended_at IS NULL))
        OR (m.kind = 'closure_due' AND NOT EXISTS (
              SELECT FROM custody.case_record c WHERE c.id = m.case_id AND c.closed_on IS NULL)));
    GET DIAGNOSTICS withdrawn = ROW_COUNT;
  END IF;
  -- Never past now: causes recorded later are timestamped now or later, and a run evaluated ahead
  -- (--as-of tomorrow) must not make the next run skip them.
  UPDATE custody.notify_state s SET composed_to = least(greatest(coalesce(s.composed_to, as_of), as_of), now())
   WHERE s.id = 1;
END
$$;

-- The next queued message due for an attempt at as_of, locked until the caller's transaction ends,
-- so two deliverers never take the same one. The n-th retry is due 5 x 2^(n-1) minutes after the
-- last attempt.
CREATE OR REPLACE FUNCTION custody.notify_next(as_of timestamptz) RETURNS SETOF custody.message
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
BEGIN
  PERFORM custody.require_notifier();
  RETURN QUERY
    SELECT * FROM custody.message m
     WHERE m.status = 'queued'
       AND (m.attempts = 0 OR m.last_attempt_at + interval '5 minutes' * 2 ^ (m.attempts - 1) <= as_of)
     ORDER BY m.id
     LIMIT 1
       FOR UPDATE SKIP LOCKED;
END
$$;

-- The outcome of one attempt: sent, or not (with the mail system's words), failed after the fifth
-- attempt or at once when it may never be sent (an address outside the agency).
CREATE OR REPLACE FUNCTION custody.notify_attempted(
  message_id bigint, as_of timestamptz, delivered boolean, failure text DEFAULT NULL, final boolean DEFAULT false)
  RETURNS custody.message
  LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = custody, pg_temp
  AS $$
DECLARE
  m custody.message;
BEGIN
  PERFORM custody.require_notifier();
  UPDATE custody.message SET
         attempts = attempts + 1, last_attempt_at = as_of,
         sent_at = CASE WHEN delivered THEN now() END,
         status = CASE WHEN delivered THEN 'sent' WHEN final OR attempts + 1 >= 5 THEN 'failed' ELSE 'queued' END,
         error = CASE WHEN delivered THEN NULL ELSE left(failure, 2000) END
   WHERE id = message_id AND status = 'queued'
   RETURNING * INTO m;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'message % is not queued', message_id USING ERRCODE = 'U0001';
  END IF;
  RETURN m;
END
$$;

-- Messages composed, newest first: every office's for the owner, directors and the notifier, their
-- own office's for office managers.
CREATE OR REPLACE FUNCTION custody.notify_list(
  office_code text DEFAULT NULL, wanted_status text DEFAULT NULL, since timestamptz DEFAULT '-infinity')
  RETURNS SETOF custody.message
  LANGUAGE plpgsql STABLE
  AS $$
BEGIN
  IF NOT (custody.viewer_sees_all()
          OR EXISTS (SELECT FROM custody.staff s WHERE s.login = custody.session_login()
                        AND s.role = 'office-manager' AND s.deactivated_at IS NULL)) THEN
    RAISE EXCEPTION 'notifications are listed for office managers, directors and the notifier'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF office_code IS NOT NULL THEN
    PERFORM custody.require_office(office_code);
  END IF;
  RETURN QUERY
    SELECT * FROM custody.message m
     WHERE (office_code IS NULL OR m.office = office_code)
       AND (wanted_status IS NULL OR m.status = wanted_status)
       AND m.composed_at >= since
     ORDER BY m.composed_at DESC, m.id DESC;
END
$$;

-- The outbox is read by those who send it, and by office managers for their office.
DROP POLICY IF EXISTS message_read ON custody.message;
CREATE POLICY message_read ON custody.message FOR SELECT USING (
  (SELECT custody.viewer_sees_all())
  OR (office = (SELECT custody.viewer_office())
      AND EXISTS (SELECT FROM custody.staff s WHERE s.login = custody.session_login() AND s.role = 'office-manager'))
);
-- Only the owner reads how far composing has looked; its writes are in engine/10_access.sql.
DROP POLICY IF EXISTS notify_state_read ON custody.notify_state;
CREATE POLICY notify_state_read ON custody.notify_state FOR SELECT TO CURRENT_USER USING (true);

GRANT SELECT ON custody.message TO custody_staff;
GRANT EXECUTE ON FUNCTION
  custody.notify_compose(timestamp with time zone),
  custody.notify_next(timestamp with time zone),
  custody.notify_attempted(bigint, timestamp with time zone, boolean, text, boolean),
  custody.notify_list(text, text, timestamp with time zone)
  TO custody_staff;
