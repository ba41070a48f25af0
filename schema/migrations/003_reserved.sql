-- 003_reserved: a placeholder so that this branch's migrations stay
-- contiguous while 003_artifacts.sql (issue 6) lands on another branch.
-- It changes nothing. Delete this file when 003_artifacts.sql is merged.
SELECT 1;
