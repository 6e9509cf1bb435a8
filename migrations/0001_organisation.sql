-- The agency: offices, staff and secure bases, the group roles that carry staff privileges,
-- and the value rules every later table and function uses.
-- Released as sha256:2f7c7fc50c6c0a5b2d64144b649b529d74aa846685e6228dc27de22ab2c7a467.
-- Its functions, policies, triggers and grants now live in engine/, each defined once.

CREATE SCHEMA custody;

COMMENT ON SCHEMA custody IS 'Custody of the agency''s paper case files.';

-- Functions the migrating role creates are not executable by PUBLIC; grants name who may call them.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Group roles, one per staff role, all members of custody_staff. Roles belong to the cluster,
-- so a second custody database on the same cluster shares them.
DO $$
DECLARE
  group_role text;
BEGIN
  FOREACH group_role IN ARRAY ARRAY[
    'custody_staff', 'custody_practitioner', 'custody_family_support_worker',
    'custody_business_support', 'custody_office_manager', 'custody_service_manager', 'custody_director'
  ] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = group_role) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', group_role);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created meanwhile for another database
      END;
    END IF;
    IF group_role <> 'custody_staff'
       AND NOT pg_has_role(group_role, 'custody_staff', 'MEMBER') THEN
      EXECUTE format('GRANT custody_staff TO %I', group_role);
    END IF;
  END LOOP;
END
$$;

-- Value rules, used by table constraints and domains and by the API's messages. Their bodies are
-- SQL-standard, stored parsed: a constraint that calls one is inlined for every statement that
-- writes the table, which spares parsing the body each time.

-- Office codes: 2-8 upper-case letters or digits.
CREATE FUNCTION custody.is_office_code(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN value ~ '^[A-Z0-9]{2,8}$';

-- Labels and case numbers: printable and scannable, upper-case letters, digits, '-' and '/'.
CREATE FUNCTION custody.is_label(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN value ~ '^[A-Z0-9][A-Z0-9/-]{0,39}$' AND value !~ '[-/]$';

-- Staff logins are PostgreSQL role names: lower-case, starting with a letter.
CREATE FUNCTION custody.is_login(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN value ~ '^[a-z][a-z0-9_.-]{0,62}$' AND value !~ '^(pg_|custody_)';

-- Free text (whereabouts, reasons, notes, names): 1 to max_length characters, not blank,
-- no control characters except tab.
CREATE FUNCTION custody.is_text(value text, max_length integer DEFAULT 2000) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN length(value) BETWEEN 1 AND max_length
     AND btrim(value, E' \t') <> ''
     AND value !~ '[\x01-\x08\x0A-\x1F\x7F-\x9F]';

CREATE FUNCTION custody.is_email(value text) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN length(value) <= 254 AND value ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$';

CREATE TABLE custody.office (
  code text PRIMARY KEY CONSTRAINT office_code_format CHECK (custody.is_office_code(code)),
  name text NOT NULL CONSTRAINT office_name_text CHECK (custody.is_text(name, 200)),
  email text CONSTRAINT office_email_format CHECK (custody.is_email(email)),
  -- The number in the next generated label (OFFICE-NNNNNN).
  next_label integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL DEFAULT session_user
);

COMMENT ON TABLE custody.office IS 'An office of the agency, and the secure base of the files it keeps.';

CREATE TABLE custody.staff (
  login text PRIMARY KEY CONSTRAINT staff_login_format CHECK (custody.is_login(login)),
  name text NOT NULL CONSTRAINT staff_name_text CHECK (custody.is_text(name, 200)),
  role text NOT NULL CONSTRAINT staff_role_known CHECK (role IN (
    'practitioner', 'family-support-worker', 'business-support',
    'office-manager', 'service-manager', 'director')),
  office text NOT NULL REFERENCES custody.office,
  employment text NOT NULL DEFAULT 'employed' CONSTRAINT staff_employment_known
    CHECK (employment IN ('employed', 'self-employed', 'agency', 'bank')),
  home_based boolean NOT NULL DEFAULT false,
  email text CONSTRAINT staff_email_format CHECK (custody.is_email(email)),
  created_at timestamptz NOT NULL DEFAULT now(),
  created_by text NOT NULL DEFAULT session_user
);

COMMENT ON TABLE custody.staff IS 'A member of staff; login is their PostgreSQL login role.';

CREATE INDEX staff_office ON custody.staff (office);

-- A place a file may be kept: an office (id = the office code) or a home-based worker's home
-- (id = 'home:' || login), answerable to an office.
CREATE TABLE custody.secure_base (
  id text PRIMARY KEY,
  office text NOT NULL REFERENCES custody.office,
  home_of text UNIQUE REFERENCES custody.staff,
  CONSTRAINT secure_base_id_shape CHECK (
    (home_of IS NULL AND id = office) OR (home_of IS NOT NULL AND id = 'home:' || home_of))
);

COMMENT ON TABLE custody.secure_base IS 'Where a file may be kept when nobody has it out.';

CREATE INDEX secure_base_office ON custody.secure_base (office);
