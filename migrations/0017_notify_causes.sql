-- What a notify run reads to know whether anything new is due (custody.notify_causes): whether
-- a closure may have fallen due since its last run, and whether a cause has its messages yet.
CREATE INDEX event_case_ended ON custody.event (at) WHERE kind = 'case_ended';

-- A notify run asks whether each cause in its window has a message yet, from the cause's row.
CREATE INDEX message_transfer ON custody.message (transfer_id) WHERE transfer_id IS NOT NULL;
CREATE INDEX message_removal ON custody.message (removal_id) WHERE removal_id IS NOT NULL;
CREATE INDEX message_case ON custody.message (case_id) WHERE case_id IS NOT NULL;
