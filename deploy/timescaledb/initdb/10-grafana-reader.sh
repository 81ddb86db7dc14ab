#!/bin/sh
# Run once by the PostgreSQL image's entrypoint, when the data directory
# is first initialised: a login role for Grafana that may read every table
# and view (the store's tables are created later, by the monitor; the
# predefined role pg_read_all_data covers them too) and write nothing.
#
# Environment: GRAFANA_DB_USER (default grafana), GRAFANA_DB_PASSWORD
# (required), POSTGRES_USER and POSTGRES_DB (the image's own).
set -eu
: "${GRAFANA_DB_PASSWORD:?set GRAFANA_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
	-v role="${GRAFANA_DB_USER:-grafana}" -v password="$GRAFANA_DB_PASSWORD" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
GRANT pg_read_all_data TO :"role";
ALTER ROLE :"role" SET default_transaction_read_only = on;
SQL
