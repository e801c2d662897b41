#!/bin/sh
# Regenerates ../openedx.mysql.sql and ../openedx.postgres.sql: `manage.py sqlmigrate` of every
# migration of this project (Django's contenttypes and auth, then the Open edX apps), in
# `showmigrations --plan` order, concatenated exactly as Django prints them; and
# ../openedx.references.toml: every foreign key Django's models declare (references.py, from
# each model's _meta), the ones with db_constraint=False too, which the DDL does not show. Django and the
# drivers go into a virtualenv in a temporary directory, removed at the end.
#
# sqlmigrate connects to read the server's version (it creates nothing), so it needs MariaDB and
# PostgreSQL; it uses a scratch database of its own, FKSIM_DB_NAME (default fksim_schema),
# created and dropped here. FKSIM_MYSQL_HOST/PORT/USER and FKSIM_PG_HOST/PORT/USER choose the
# servers (default: the local ones of README.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
schemas=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

python3 -m venv "$tmp/venv"
py="$tmp/venv/bin/python"
"$py" -m pip install -q Django==4.2.30 PyMySQL==1.2.4 'psycopg[binary]==3.3.9'

export FKSIM_DB_NAME="${FKSIM_DB_NAME:-fksim_schema}"
mysql_env="FKSIM_DB=mysql FKSIM_DB_HOST=${FKSIM_MYSQL_HOST:-127.0.0.1} FKSIM_DB_PORT=${FKSIM_MYSQL_PORT:-3306} FKSIM_DB_USER=${FKSIM_MYSQL_USER:-root}"
pg_env="FKSIM_DB=postgresql FKSIM_DB_HOST=${FKSIM_PG_HOST:-127.0.0.1} FKSIM_DB_PORT=${FKSIM_PG_PORT:-5432} FKSIM_DB_USER=${FKSIM_PG_USER:-postgres}"

# Create (create) or drop (drop) the scratch database on the server FKSIM_DB names.
scratch() {
    "$py" - "$1" <<'PY'
import os, sys
name, backend = os.environ["FKSIM_DB_NAME"], os.environ["FKSIM_DB"]
host, port, user = os.environ["FKSIM_DB_HOST"], int(os.environ["FKSIM_DB_PORT"]), os.environ["FKSIM_DB_USER"]
create = sys.argv[1] == "create"
if backend == "mysql":
    import pymysql
    with pymysql.connect(host=host, port=port, user=user) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE IF NOT EXISTS `{name}`" if create else f"DROP DATABASE IF EXISTS `{name}`")
else:
    import psycopg
    with psycopg.connect(host=host, port=port, user=user, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if create and not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
        if not create and exists:
            conn.execute(f'DROP DATABASE "{name}"')
PY
}

# sqlmigrate of every migration, in plan order, into $1.
generate() {
    scratch create
    : >"$1.tmp"
    "$py" "$here/manage.py" showmigrations --plan | sed -n 's/^\[.\] *\([a-z_]*\)\.\([0-9a-z_]*\)$/\1 \2/p' |
        while read -r app migration; do
            "$py" "$here/manage.py" sqlmigrate "$app" "$migration" >>"$1.tmp"
        done
    scratch drop
    mv "$1.tmp" "$1"
}

cd "$here"
(eval "export $mysql_env" && generate "$schemas/openedx.mysql.sql")
(eval "export $pg_env" && generate "$schemas/openedx.postgres.sql")
# The models' references need no server: Django reads them from the models, not the database.
"$py" "$here/manage.py" shell -c "import references; references.main()" >"$schemas/openedx.references.toml.tmp"
mv "$schemas/openedx.references.toml.tmp" "$schemas/openedx.references.toml"
echo "wrote $schemas/openedx.mysql.sql, $schemas/openedx.postgres.sql and $schemas/openedx.references.toml"
