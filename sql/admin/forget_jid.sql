-- Forget one bare JID everywhere (a data protection erasure request): its
-- registrations in every service, its bans and all its events, in one
-- transaction, through the owner's function registrar_forget_jid()
-- (sql/010): run it as a role granted registrar_admin (or a superuser);
-- nobody else may delete from the append-only registration_events.
--
-- Removing the registrations logs "removed" events, deleted here too; the
-- commit still sends one NOTIFY registrar, so a backend that mirrors
-- registrations reads id > $last, finds nothing for the JID, and forgets
-- it by its own means (e.g. reading registrations_admin for the JIDs it
-- holds).
--   psql -v jid=juliet@capulet.example -f sql/admin/forget_jid.sql
\set ON_ERROR_STOP on
SELECT registrations AS registrations_forgotten,
       bans AS bans_forgotten,
       events AS events_forgotten
  FROM registrar_forget_jid(:'jid');
