-- Tamper evidence (policy 8.2: the record is evidence). Each event carries a digest of its own
-- content and of the event before it: digest(n) = sha256(digest(n - 1) || sha256(content(n))), the
-- first event's predecessor being empty. An event changed, removed, inserted or moved behind the
-- triggers no longer matches (custody.verify_record in engine/80_record.sql).
--
-- The chain's order is the order of event ids. Ids are handed out by the trigger custody.event_link
-- while it holds the chain's head (custody.event_chain, one row) locked, so concurrent appends
-- take turns and cannot fork it; a timestamp never orders it.
--
-- The encoding below is part of the record: changing it would break every digest already kept.

-- Ids come from a plain sequence that the trigger draws on under the head's lock.
ALTER TABLE custody.event ALTER COLUMN id DROP IDENTITY;
CREATE SEQUENCE custody.event_id_seq;
-- The table's owner owns it too, also when a superuser migrates.
DO $$
BEGIN
  EXECUTE format('ALTER SEQUENCE custody.event_id_seq OWNER TO %I',
                 (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c
                   WHERE c.oid = 'custody.event'::regclass));
END
$$;
ALTER SEQUENCE custody.event_id_seq OWNED BY custody.event.id;
SELECT setval('custody.event_id_seq', coalesce(max(id), 0) + 1, false) FROM custody.event;

ALTER TABLE custody.event ADD COLUMN digest bytea;

-- An event's content, in a text that depends on no setting of the session (instants as seconds
-- since 1970, dates as days since then): every column but the digest itself.
CREATE FUNCTION custody.event_content(e custody.event) RETURNS text
  LANGUAGE sql STABLE PARALLEL SAFE
  RETURN ROW(e.id, e.kind::text, extract(epoch FROM e.at), e.actor, e.request_id, e.subject, e.case_id,
             e.file_id, e.base, e.holder, e.whereabouts, extract(epoch FROM e.expected_at), e.destination,
             e.method, e.carrier, e.reference, e.seal, e.courier, e.seal_discrepancy, e.note, e.witness,
             e.certificate, e.on_date - DATE '1970-01-01', e.item, e.stocktake_id)::text;

-- One link of the chain: the digest before it and the digest of the content. Each content's own
-- digest depends on nothing else, so a verify computes those in parallel and only the links in turn.
CREATE FUNCTION custody.content_digest(content text) RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN sha256(convert_to(content, 'UTF8'));

CREATE FUNCTION custody.chain_link(previous bytea, content_digest bytea) RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN sha256(previous || content_digest);

CREATE FUNCTION custody.chain_step(previous bytea, content text) RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN custody.chain_link(previous, custody.content_digest(content));

-- The chain over rows in order: custody.chain(custody.event_content(e)) OVER (ORDER BY e.id).
CREATE AGGREGATE custody.chain(text) (SFUNC = custody.chain_step, STYPE = bytea, INITCOND = '');

-- The newest event of the chain and its digest.
CREATE TABLE custody.event_chain (
  only_row boolean PRIMARY KEY DEFAULT true CONSTRAINT event_chain_one_row CHECK (only_row),
  last_id bigint NOT NULL,
  digest bytea NOT NULL
);
COMMENT ON TABLE custody.event_chain IS 'The newest event of the record''s digest chain, locked by each append.';

-- The events recorded so far are chained here, in id order, behind the append-only trigger (which
-- a new install does not have yet: engine/ comes after the migrations).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM custody.event) THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT UPDATE (digest) ON custody.event TO %I', current_user);
  ALTER TABLE custody.event NO FORCE ROW LEVEL SECURITY;
  IF EXISTS (SELECT FROM pg_catalog.pg_trigger
              WHERE tgrelid = 'custody.event'::regclass AND tgname = 'event_no_update_or_delete') THEN
    ALTER TABLE custody.event DISABLE TRIGGER event_no_update_or_delete;
  END IF;
  UPDATE custody.event e SET digest = chained.digest
    FROM (SELECT x.id, custody.chain(custody.event_content(x)) OVER (ORDER BY x.id) AS digest
            FROM custody.event x) chained
   WHERE chained.id = e.id;
  IF EXISTS (SELECT FROM pg_catalog.pg_trigger
              WHERE tgrelid = 'custody.event'::regclass AND tgname = 'event_no_update_or_delete') THEN
    ALTER TABLE custody.event ENABLE TRIGGER event_no_update_or_delete;
  END IF;
  ALTER TABLE custody.event FORCE ROW LEVEL SECURITY;
  EXECUTE format('REVOKE UPDATE (digest) ON custody.event FROM %I', current_user);
END
$$;
ALTER TABLE custody.event ALTER COLUMN digest SET NOT NULL;

INSERT INTO custody.event_chain (last_id, digest)
SELECT coalesce(max(e.id), 0),
       coalesce((SELECT n.digest FROM custody.event n ORDER BY n.id DESC LIMIT 1), ''::bytea)
  FROM custody.event e;

ALTER TABLE custody.event_chain ENABLE ROW LEVEL SECURITY;
ALTER TABLE custody.event_chain FORCE ROW LEVEL SECURITY;
