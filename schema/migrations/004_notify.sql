-- 004_notify: placeholder on the accounts branch so that its 005 applies
-- (migrations are contiguous). The notifications branch owns this number;
-- at merge its file replaces this one.
SELECT 1;
