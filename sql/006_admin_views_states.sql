-- 006: what admins and the backend read about states and events.
--
-- registrations_admin          004's view plus state and consents (still no
--                              hash of any kind)
-- registrations_active         active registrations, without secrets
-- registrations_pending        the pending queue, oldest first, with how
--                              long each has waited
-- registration_signups_daily   per service and day: sign-ups and removals
--                              from the event log (kept until purged, so a
--                              cancelled registration still counts)
-- The queries over them are in sql/admin/.

CREATE OR REPLACE VIEW registrations_admin AS
SELECT service,
       jid,
       username,
       registrar_fields_without_hashes(fields) AS fields,
       password_hash IS NOT NULL AS has_password,
       created_at,
       updated_at,
       state,
       consents
  FROM registrations;

COMMENT ON VIEW registrations_admin IS
    'every registration without its secrets: no hash of any kind, '
    'text-private fields as true, has_password; with state and consents';

CREATE VIEW registrations_active AS
SELECT service, jid, username, fields, has_password, consents, created_at,
       updated_at
  FROM registrations_admin
 WHERE state = 'active';

COMMENT ON VIEW registrations_active IS
    'active registrations, without secrets';

CREATE VIEW registrations_pending AS
SELECT service, jid, username, fields, has_password, consents, created_at,
       now() - created_at AS waiting
  FROM registrations_admin
 WHERE state = 'pending'
 ORDER BY created_at, service, jid;

COMMENT ON VIEW registrations_pending IS
    'registrations waiting for the backend or an admin, oldest first';

CREATE VIEW registration_signups_daily AS
SELECT service,
       date_trunc('day', at) AS day,
       count(*) FILTER (WHERE event = 'registered') AS signups,
       count(*) FILTER (WHERE event = 'removed') AS removals
  FROM registration_events
 WHERE event IN ('registered', 'removed')
 GROUP BY service, date_trunc('day', at);

COMMENT ON VIEW registration_signups_daily IS
    'sign-ups and removals per service and day, from registration_events';
