-- All registrations of one service as CSV (fields as JSON text).  From
-- registrations_admin: no hash of any kind, a text-private field that is
-- set shows as true, and has_password says whether a password is on file.
--   psql -v service=contests.example -f sql/queries/export_csv.sql > out.csv
COPY (SELECT jid, username, created_at, updated_at, fields::text AS fields,
             has_password
        FROM registrations_admin
       WHERE service = :'service'
       ORDER BY created_at)
  TO STDOUT WITH (FORMAT csv, HEADER);
