-- Staff may ask whether an office exists, so that a report or a list for an office code that
-- names no office says so (not found, or not a valid code) instead of answering with no rows.
GRANT EXECUTE ON FUNCTION custody.require_office(text) TO custody_staff;
