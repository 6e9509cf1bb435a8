-- Offices: the agency's secure bases that are not a worker's home.
CREATE TABLE office (
  code text PRIMARY KEY
    CONSTRAINT office_code_format CHECK (code ~ '^[A-Z0-9]{2,8}$'),
  name text NOT NULL
    CONSTRAINT office_name_length CHECK (length(name) BETWEEN 1 AND 200),
  email text
    CONSTRAINT office_email_format CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
  created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE office IS 'An office of the agency: a secure base for case files.';
