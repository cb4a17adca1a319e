-- Everything stored about one bare JID, as one JSON document (a data
-- protection access request): its registrations in every service from
-- registrations_admin (no hash of any kind: a text-private field that is
-- set shows as true, has_password says whether a password is on file) and
-- its events.
--   psql -X -At -v jid=juliet@capulet.example -f sql/admin/export_jid.sql > juliet.json
SELECT jsonb_pretty(jsonb_build_object(
    'jid', :'jid',
    'exported_at', now(),
    'registrations', coalesce((
        SELECT jsonb_agg(to_jsonb(a) - 'jid' ORDER BY a.service)
          FROM registrations_admin a
         WHERE a.jid = :'jid'), '[]'::jsonb),
    'events', coalesce((
        SELECT jsonb_agg(to_jsonb(e) - 'jid' ORDER BY e.id)
          FROM registration_events e
         WHERE e.jid = :'jid'), '[]'::jsonb))) AS export;
