-- 004: the admin view shows no hash of any kind.
--
-- A text-private field is stored as a bcrypt hash in `fields`; a short
-- secret (a PIN) under such a hash is cheap to crack offline, so whoever
-- reads the admin view or its CSV export must not get it.  In
-- registrations_admin.fields every bcrypt-shaped string (a field's value,
-- or a value of a -multi field) is now JSON true: "this field is set".
-- has_password stays.  The table itself is unchanged; only registrar and
-- code that must verify a secret read it.
--
-- registrar_fields_without_hashes(fields)  fields with every bcrypt-shaped
--                                           value replaced by true

CREATE FUNCTION registrar_fields_without_hashes(fields jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN (
    SELECT coalesce(jsonb_object_agg(f.key, CASE
               WHEN jsonb_typeof(f.value) = 'string'
                    AND f.value #>> '{}'
                        ~ '^\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'
                   THEN 'true'::jsonb
               WHEN jsonb_typeof(f.value) = 'array'
                   THEN (SELECT coalesce(jsonb_agg(CASE
                                    WHEN jsonb_typeof(a.value) = 'string'
                                         AND a.value #>> '{}'
                                             ~ '^\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'
                                        THEN 'true'::jsonb
                                    ELSE a.value END
                                    ORDER BY a.n), '[]'::jsonb)
                           FROM jsonb_array_elements(f.value)
                                WITH ORDINALITY AS a(value, n))
               ELSE f.value END), '{}'::jsonb)
      FROM jsonb_each(fields) AS f);

COMMENT ON FUNCTION registrar_fields_without_hashes(jsonb) IS
    'registration fields with every bcrypt-shaped value shown as true';

CREATE OR REPLACE VIEW registrations_admin AS
SELECT service,
       jid,
       username,
       registrar_fields_without_hashes(fields) AS fields,
       password_hash IS NOT NULL AS has_password,
       created_at,
       updated_at
  FROM registrations;

COMMENT ON VIEW registrations_admin IS
    'every registration without its secrets: no hash of any kind, '
    'text-private fields as true, has_password';
