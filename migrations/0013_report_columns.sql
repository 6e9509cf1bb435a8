-- The reports name holders as well as their logins, and transfers show their seal: the functions'
-- columns change, so they are dropped here and made again by engine/70_reports.sql.
DROP FUNCTION IF EXISTS custody.report_overdue(text, timestamptz);
DROP FUNCTION IF EXISTS custody.report_out(text, timestamptz);
DROP FUNCTION IF EXISTS custody.report_transit(text, timestamptz);
DROP FUNCTION IF EXISTS custody.report_arrivals(text, timestamptz);
