-- 008_user_deactivate: a server admin can deactivate a user (offboarding).
-- The row stays, so the name stays taken and the user's runs, projects and
-- reports keep their author; while deactivated_at is set, none of the
-- user's keys or sessions resolve (server/store/store_acct.c, principal)
-- and their own webhooks are not delivered (server/notify/notify.c).
ALTER TABLE users ADD COLUMN deactivated_at REAL;
