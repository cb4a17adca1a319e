-- Every event of one bare JID, in every service, in commit order.  The
-- JID as stored: the bare JID the XMPP server sent (it lowercases the
-- local part and domain).  detail never holds a secret nor a hash.
--   psql -v jid=juliet@capulet.example -f sql/admin/events_of_jid.sql
SELECT id, service, event, at, iq_id, detail
  FROM registration_events
 WHERE jid = :'jid'
 ORDER BY id;
