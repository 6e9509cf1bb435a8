-- Whether a closure may have fallen due since the last notify run (custody.notify_may_be_due) is
-- read from this index, so a run with nothing new reads no more of the events.
CREATE INDEX event_case_ended ON custody.event (at) WHERE kind = 'case_ended';
