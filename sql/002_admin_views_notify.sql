-- 002: what admins and the third-party service read.
--
-- registrations_admin  every registration without its secrets
-- registrations_daily  sign-ups per service and day
-- NOTIFY registrar     one notification per insert, update or delete, with
--                      a JSON payload {"op", "service", "jid"}: LISTEN
--                      registrar to act on new sign-ups without polling.

CREATE VIEW registrations_admin AS
SELECT service,
       jid,
       username,
       fields,
       password_hash IS NOT NULL AS has_password,
       created_at,
       updated_at
  FROM registrations;

CREATE VIEW registrations_daily AS
SELECT service,
       date_trunc('day', created_at) AS day,
       count(*) AS registrations
  FROM registrations
 GROUP BY service, date_trunc('day', created_at);

CREATE FUNCTION registrations_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r registrations;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    PERFORM pg_notify('registrar',
        json_build_object('op', lower(TG_OP),
                          'service', r.service,
                          'jid', r.jid)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER registrations_notify
    AFTER INSERT OR UPDATE OR DELETE ON registrations
    FOR EACH ROW EXECUTE FUNCTION registrations_notify();
