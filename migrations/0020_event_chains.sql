-- One digest chain per file, case or subject, instead of one for the whole record: 0019's single
-- head was held by every append until it committed, so appends to different files waited for each
-- other's commits. An event now belongs to its file's chain, else its case's, else its subject's,
-- and stores the digest of the event before it in that chain (`previous`, empty for a chain's
-- first event): digest = sha256(previous || content), content as in 0019. Appends to one chain
-- take turns on its head in custody.event_head, locked no longer than the file or case a command
-- already holds; appends to different chains never wait for each other. Within a chain, id order
-- is chain order: an append whose id is not above its chain's newest draws another. A checkpoint
-- is a digest of every event's digest in id order (custody.record_digest in engine/80_record.sql).
--
-- The encoding below is part of the record: changing it would break every digest already kept.

DROP TRIGGER IF EXISTS event_chain_start ON custody.event;
DROP TRIGGER IF EXISTS event_link ON custody.event;
DROP TRIGGER IF EXISTS event_chain_end ON custody.event;
DROP FUNCTION IF EXISTS custody.event_chain_start();
DROP FUNCTION IF EXISTS custody.event_chain_end();
DROP FUNCTION IF EXISTS custody.verify_record(bigint, bytea);
DROP AGGREGATE custody.chain(text);
DROP FUNCTION custody.chain_step(bytea, text);
DROP FUNCTION custody.chain_link(bytea, bytea);
DROP FUNCTION custody.content_digest(text);
DROP TABLE custody.event_chain;

ALTER TABLE custody.event ADD COLUMN previous bytea;

-- The chain an event belongs to. The planner inlines these two functions only while their bodies
-- are no more volatile than they are declared: hence the casts to text, and STABLE for convert_to.
CREATE FUNCTION custody.event_chain_key(file_id bigint, case_id bigint, subject text) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN CASE WHEN file_id IS NOT NULL THEN 'file ' || file_id::text
              WHEN case_id IS NOT NULL THEN 'case ' || case_id::text
              ELSE 'subject ' || subject END;

-- One link: the digest of the event before it in its chain, and this event's content.
CREATE FUNCTION custody.event_digest(previous bytea, content text) RETURNS bytea
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  RETURN sha256(previous || convert_to(content, 'UTF8'));

-- A chain's digests in order: custody.chain_digests(custody.event_content(e)) OVER (PARTITION BY its key ORDER BY e.id).
CREATE AGGREGATE custody.chain_digests(text) (SFUNC = custody.event_digest, STYPE = bytea, INITCOND = '');

-- The newest event of each chain, its digest and the digest before it.
CREATE TABLE custody.event_head (
  chain text PRIMARY KEY,
  last_id bigint NOT NULL,
  previous bytea NOT NULL,
  digest bytea NOT NULL
);
COMMENT ON TABLE custody.event_head IS 'The newest event of each digest chain of the record, locked by each append to it.';

-- The events recorded so far are chained again, behind the append-only trigger (which a new
-- install does not have yet: engine/ comes after the migrations).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM custody.event) THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT UPDATE (digest, previous) ON custody.event TO %I', current_user);
  ALTER TABLE custody.event NO FORCE ROW LEVEL SECURITY;
  IF EXISTS (SELECT FROM pg_catalog.pg_trigger
              WHERE tgrelid = 'custody.event'::regclass AND tgname = 'event_no_update_or_delete') THEN
    ALTER TABLE custody.event DISABLE TRIGGER event_no_update_or_delete;
  END IF;
  UPDATE custody.event e SET previous = linked.previous, digest = linked.digest
    FROM (SELECT chained.id, chained.digest,
                 coalesce(lag(chained.digest) OVER (PARTITION BY chained.key ORDER BY chained.id), ''::bytea) AS previous
            FROM (SELECT x.id, custody.event_chain_key(x.file_id, x.case_id, x.subject) AS key,
                         custody.chain_digests(custody.event_content(x))
                           OVER (PARTITION BY custody.event_chain_key(x.file_id, x.case_id, x.subject) ORDER BY x.id) AS digest
                    FROM custody.event x) chained) linked
   WHERE linked.id = e.id;
  IF EXISTS (SELECT FROM pg_catalog.pg_trigger
              WHERE tgrelid = 'custody.event'::regclass AND tgname = 'event_no_update_or_delete') THEN
    ALTER TABLE custody.event ENABLE TRIGGER event_no_update_or_delete;
  END IF;
  ALTER TABLE custody.event FORCE ROW LEVEL SECURITY;
  EXECUTE format('REVOKE UPDATE (digest, previous) ON custody.event FROM %I', current_user);
END
$$;
ALTER TABLE custody.event ALTER COLUMN previous SET NOT NULL;

INSERT INTO custody.event_head (chain, last_id, previous, digest)
SELECT DISTINCT ON (custody.event_chain_key(e.file_id, e.case_id, e.subject))
       custody.event_chain_key(e.file_id, e.case_id, e.subject), e.id, e.previous, e.digest
  FROM custody.event e
 ORDER BY custody.event_chain_key(e.file_id, e.case_id, e.subject), e.id DESC;

-- The events of subjects' chains (neither file nor case), for checkpoints (custody.record_digest).
CREATE INDEX event_subject ON custody.event (subject, id) WHERE file_id IS NULL AND case_id IS NULL;

ALTER TABLE custody.event_head ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.event_head FORCE ROW LEVEL SECURITY;
