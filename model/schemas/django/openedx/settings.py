"""Settings for the minimal Open edX schema project: only what `sqlmigrate` needs.

The backend is chosen by FKSIM_DB (`mysql` or `postgresql`); the server and the scratch
database by FKSIM_DB_HOST, FKSIM_DB_PORT, FKSIM_DB_USER and FKSIM_DB_NAME. sqlmigrate connects
to read the server's version (MySQL's backend spells some DDL by it), and creates nothing.
"""
import os

SECRET_KEY = "schema-generation-only"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "student",
    "bookmarks",
    "courseware",
    "completion",
]

_backend = os.environ.get("FKSIM_DB", "postgresql")
if _backend == "mysql":
    # PyMySQL in place of mysqlclient (which needs a C compiler and the client headers).
    import pymysql

    pymysql.install_as_MySQLdb()

DATABASES = {
    "default": {
        "ENGINE": f"django.db.backends.{_backend}",
        "NAME": os.environ.get("FKSIM_DB_NAME", "fksim_schema"),
        "USER": os.environ.get("FKSIM_DB_USER", "root" if _backend == "mysql" else "postgres"),
        "HOST": os.environ.get("FKSIM_DB_HOST", "127.0.0.1"),
        "PORT": os.environ.get("FKSIM_DB_PORT", "3306" if _backend == "mysql" else "5432"),
    }
}
