-- Speed at national scale (a million files, five million events).
-- Released as sha256:5e554f418531aab41aeeaab73dd9e1401ff406e57fb3d79e52756af73fd4618e.
-- Its functions, policies, triggers and grants now live in engine/, each defined once.

-- Reports are short queries; compiling them with JIT costs more than it saves.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET jit = off', current_database());
END
$$;

-- How many files each office has in each state, kept by a trigger on custody.file, so the
-- summary of every office does not count a million rows. Only those who see every file read it;
-- everyone else's summary counts the files they may see.
CREATE TABLE custody.office_tally (
  office text NOT NULL REFERENCES custody.office,
  status text NOT NULL,
  files bigint NOT NULL,
  PRIMARY KEY (office, status)
);

COMMENT ON TABLE custody.office_tally IS 'Files per office and state, kept by the file_tally trigger.';

ALTER TABLE custody.office_tally ENABLE ROW LEVEL SECURITY;

ALTER TABLE custody.office_tally FORCE ROW LEVEL SECURITY;

INSERT INTO custody.office_tally (office, status, files)
SELECT f.office, f.status, count(*) FROM custody.file f GROUP BY f.office, f.status;
