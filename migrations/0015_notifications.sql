-- Notifications (policy 4.3, 6.4): a transactional outbox. A message is composed once per cause and
-- recipient (its key), from the current state at an instant; delivery hands each to the mail system
-- and records the outcome. The functions are in engine/75_notifications.sql.

-- The group role of the logins that run `custody notify run` (a cron job's login, say).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'custody_notifier') THEN
    BEGIN
      CREATE ROLE custody_notifier NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- created meanwhile for another database
    END;
  END IF;
  -- It reads and calls what staff may; it acts as no member of staff.
  IF NOT pg_has_role('custody_notifier', 'custody_staff', 'MEMBER') THEN
    GRANT custody_staff TO custody_notifier;
  END IF;
END
$$;

CREATE TABLE custody.message (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- The cause and the recipient: composing the same message again inserts nothing.
  key text NOT NULL UNIQUE,
  kind text NOT NULL CONSTRAINT message_kind_known CHECK (kind IN (
    'expected_arrival', 'receipt', 'late_transit', 'overdue', 'overdue_escalation', 'closure_due', 'digest')),
  -- The office whose managers see the message in `notify list`.
  office text NOT NULL REFERENCES custody.office,
  label text,
  case_number text,
  -- Whom it is for (a login or an office code) and their address, NULL when they have none.
  recipient text NOT NULL,
  address text,
  -- What the message says, for the client to render: names, times, places.
  facts jsonb NOT NULL,
  -- The cause, so a queued message whose cause has gone is withdrawn.
  transfer_id bigint REFERENCES custody.transfer,
  removal_id bigint REFERENCES custody.removal,
  case_id bigint REFERENCES custody.case_record,
  due_at timestamptz,
  status text NOT NULL DEFAULT 'queued' CONSTRAINT message_status_known
    CHECK (status IN ('queued', 'sent', 'failed', 'withdrawn')),
  attempts integer NOT NULL DEFAULT 0,
  composed_at timestamptz NOT NULL,
  last_attempt_at timestamptz,
  sent_at timestamptz,
  error text
);

COMMENT ON TABLE custody.message IS 'The notifications outbox: one row per message, composed once.';

CREATE INDEX message_queued ON custody.message (id) WHERE status = 'queued';

CREATE INDEX message_office ON custody.message (office, composed_at);

-- How far composing has looked: the next run looks from a little before this instant on. It starts
-- at this migration, so what happened before it (years of receipts, long-overdue files the reports
-- already list) is not mailed all at once.
CREATE TABLE custody.notify_state (
  id integer PRIMARY KEY CONSTRAINT notify_state_one_row CHECK (id = 1),
  composed_to timestamptz
);

INSERT INTO custody.notify_state (id, composed_to) VALUES (1, now());

-- The causes, each read from an index by the instant it became due.
CREATE INDEX transfer_dispatched_at ON custody.transfer (dispatched_at);

CREATE INDEX transfer_received_at ON custody.transfer (ended_at) WHERE ended_how = 'received';

CREATE INDEX transfer_open_expected_by ON custody.transfer (expected_by) WHERE ended_at IS NULL;

CREATE INDEX case_record_ended ON custody.case_record (ended_on) WHERE ended_on IS NOT NULL AND closed_on IS NULL;

ALTER TABLE custody.message ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.message FORCE ROW LEVEL SECURITY;
ALTER TABLE custody.notify_state ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.notify_state FORCE ROW LEVEL SECURITY;
