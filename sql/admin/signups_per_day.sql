-- Sign-ups and removals per day of one service, newest day first (view
-- registration_signups_daily, sql/006: counted from registration_events,
-- so a registration removed since still counts on its day; days older
-- than the last purge_events.sql are gone).
--   psql -v service=contests.example -f sql/admin/signups_per_day.sql
SELECT day, signups, removals
  FROM registration_signups_daily
 WHERE service = :'service'
 ORDER BY day DESC;
