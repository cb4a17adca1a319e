-- All registrations of one service as CSV (fields as JSON text).
--   psql -v service=contests.example -f sql/queries/export_csv.sql > out.csv
COPY (SELECT jid, username, created_at, updated_at, fields::text AS fields
        FROM registrations_admin
       WHERE service = :'service'
       ORDER BY created_at)
  TO STDOUT WITH (FORMAT csv, HEADER);
