"""migrator.config as an operator meets it: the flags and environment a run is configured
from (parsed by the real CLI parser), and the DSN as messages show it (``redacted()`` in
every "on <database>" line, ``address`` in "cannot connect to ... at <address>")."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.cli import parse_args
from migrator.config import build_config, parse_dsn
from migrator.errors import UsageError

SECRET = "S3cretPw"


def config_of(*argv: str, env: dict[str, str] | None = None):
    return build_config(parse_args([*argv, "status"]), env=env or {}, interactive=False)


# -- flags and environment ------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "Yes", "on", "ON", " on\n"])
def test_repair_tracking_is_on_for_every_yes_word(value):
    assert config_of("-d", "sqlite://a.db", env={"MIGRATE_REPAIR_TRACKING": value}).repair_tracking is True


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "y", "enabled"])
def test_repair_tracking_is_off_otherwise(value):
    assert config_of("-d", "sqlite://a.db", env={"MIGRATE_REPAIR_TRACKING": value}).repair_tracking is False
    assert config_of("-d", "sqlite://a.db", env={}).repair_tracking is False


def test_read_from_env_takes_dsn_then_database_url():
    both = {"DSN": "sqlite://first.db", "DATABASE_URL": "sqlite://second.db"}
    assert config_of("-e", env=both).dsn.database == "first.db"
    assert config_of("-e", env={"DSN": "sqlite://first.db"}).dsn.database == "first.db"
    assert config_of("-e", env={"DATABASE_URL": "sqlite://second.db"}).dsn.database == "second.db"
    assert config_of("-e", env={"DSN": "", "DATABASE_URL": "sqlite://second.db"}).dsn.database == "second.db"


def test_read_from_env_without_a_variable_is_a_usage_error():
    with pytest.raises(UsageError) as caught:
        config_of("-e", env={"DSN": ""})
    assert caught.value.message == "-e/--read-from-env given but neither DSN nor DATABASE_URL is set"


def test_database_flag_and_read_from_env_together_are_refused():
    with pytest.raises(UsageError) as caught:
        config_of("-e", "-d", "sqlite://a.db", env={"DSN": "sqlite://b.db"})
    assert caught.value.message == "--database and -e/--read-from-env both given: pass one of them"


def test_database_flag_alone_ignores_the_environment():
    config = config_of("-d", "sqlite://flag.db", env={"DSN": "sqlite://env.db"})
    assert config.dsn.database == "flag.db"


def test_no_database_at_all_fails_only_when_one_is_needed():
    config = config_of(env={})
    with pytest.raises(UsageError) as caught:
        config.dsn  # noqa: B018 - reading it is the check
    assert caught.value.message == "no database given: pass --database DSN, or -e with DSN or DATABASE_URL set"


def test_the_password_is_not_in_the_configs_repr():
    config = config_of("-d", f"postgres://u:{SECRET}@db/app", env={})
    assert config.dsn.password == SECRET
    assert SECRET not in repr(config) and SECRET not in str(config)


def test_migrations_directory_flag_then_environment_then_default():
    env = {"MIGRATOR_MIGRATIONS_DIR": "/srv/migrations"}
    assert config_of("--migrations", "mine", env=env).migrations_dir == Path("mine")
    assert config_of(env=env).migrations_dir == Path("/srv/migrations")


def test_default_migrations_directory_is_the_image_folder_when_it_exists():
    """/migrations in the image (where the chart mounts them), ./migrations elsewhere."""
    expected = Path("/migrations") if Path("/migrations").is_dir() else Path("migrations")
    assert config_of(env={}).migrations_dir == expected


def test_flags_reach_the_config():
    config = config_of("-d", "sqlite://a.db", "--service", "auth", "--lock-timeout", "7", "--ddl-lock-timeout", "2",
                       "--connect-timeout", "30", "--log-format", "json", "--log-level", "WARNING", "-y", env={})
    assert (config.service, config.lock_timeout, config.ddl_lock_timeout, config.connect_timeout) == ("auth", 7, 2, 30)
    assert (config.log_format, config.log_level, config.yes) == ("json", "warning", True)


# -- DSN forms an operator writes ---------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    # libpq: an empty authority and the socket directory as ?host=
    ("postgres:///app?host=/var/run/postgresql", dict(socket="/var/run/postgresql", database="app", user=None)),
    ("postgresql://u@/app?host=/var/run/postgresql", dict(socket="/var/run/postgresql", user="u", port=None)),
    ("cockroach://u@crdb/app", dict(host="crdb", port=26257)),
    ("cockroach://u@crdb/app?host=crdb2&port=26300&sslmode=disable",
     dict(host="crdb2", port=26300, params=(("sslmode", "disable"),))),
    # an empty port is the default one, as libpq takes it
    ("postgres://u@db:/app", dict(host="db", port=5432)),
    ("mysql://u@db:/app", dict(host="db", port=3306)),
    # an empty query parameter (a doubled or trailing '&') is skipped, not the end of the query
    ("postgres://db/app?sslmode=disable&&application_name=x&", dict(params=(("sslmode", "disable"),
                                                                           ("application_name", "x")))),
    # the MySQL socket parameter is taken out of the query; the other parameters stay, in order
    ("mysql://u@/app?tls=false&socket=/run/mysqld/mysqld.sock&charset=utf8mb4",
     dict(socket="/run/mysqld/mysqld.sock", params=(("tls", "false"), ("charset", "utf8mb4")))),
])
def test_dsn_forms(text, expected):
    dsn = parse_dsn(text)
    assert {key: getattr(dsn, key) for key in expected} == expected


@pytest.mark.parametrize("text", ["postgres://u@tcp(db:5432)/app", "cockroach://u@tcp(db:26257)/app"])
def test_go_driver_form_is_mysql_only(text):
    """A MySQL DSN whose scheme was changed is refused, not connected to as MySQL."""
    with pytest.raises(UsageError) as caught:
        parse_dsn(text)
    assert caught.value.message == "invalid DSN: malformed host 'tcp(db'"


def test_a_parameter_given_twice_counts_once_with_its_last_value():
    dsn = parse_dsn("mysql://u@db/app?tls=true&charset=utf8mb4&tls=preferred&wait_timeout=5&tls=false")
    assert dsn.param("tls") == "false" and dsn.param("charset") == "utf8mb4"
    assert dsn.param("wait_timeout") == "5" and dsn.param("collation") is None


def test_parameter_names_in_any_case_only_when_asked():
    """The Go driver's user and password parameters are read in any case (``?PASSWORD=``);
    every other name is case-sensitive."""
    dsn = parse_dsn(f"mysql://u@db/app?PASSWORD={SECRET}&User=admin&Tls=true")
    assert dsn.param("password", any_case=True) == SECRET and dsn.param("user", any_case=True) == "admin"
    assert dsn.param("password") is None and dsn.param("tls") is None
    assert dsn.param("PASSWORD") == SECRET


# -- the DSN in messages --------------------------------------------------------------------------

SHOWN = [
    ("sqlite:///var/lib/app/data.db", "sqlite:///var/lib/app/data.db", "/var/lib/app/data.db"),
    ("sqlite://relative.db?mode=ro", "sqlite://relative.db", "relative.db"),
    ("postgres://db/app", "postgres://db:5432/app", "db:5432"),
    ("postgres://u@db/app", "postgres://u@db:5432/app", "db:5432"),
    (f"postgres://u:{SECRET}@db:6432/app?sslmode=require", "postgres://u:***@db:6432/app?sslmode=require", "db:6432"),
    (f"postgres://:{SECRET}@db/app", "postgres://:***@db:5432/app", "db:5432"),
    ("postgres://u@[::1]:5433/app", "postgres://u@[::1]:5433/app", "[::1]:5433"),
    (f"postgres://u:{SECRET}@/app?host=/var/run/postgresql&sslmode=disable",
     "postgres://u:***@/app?host=/var/run/postgresql&sslmode=disable", "/var/run/postgresql"),
    ("postgres://u@/app?host=/tmp&port=6000", "postgres://u@/app?host=/tmp&port=6000", "/tmp"),
    (f"mysql://u:{SECRET}@tcp(db:3307)/app", "mysql://u:***@db:3307/app", "db:3307"),
    (f"mysql://u:{SECRET}@unix(/run/mysqld/mysqld.sock)/app?tls=false",
     "mysql://u:***@unix(/run/mysqld/mysqld.sock)/app?tls=false", "/run/mysqld/mysqld.sock"),
    ("mysql://u@/app?socket=/run/mysqld/mysqld.sock", "mysql://u@unix(/run/mysqld/mysqld.sock)/app",
     "/run/mysqld/mysqld.sock"),
    ("cockroach://root@crdb/app", "cockroach://root@crdb:26257/app", "crdb:26257"),
    ("cockroach://root@/app?host=/tmp", "cockroach://root@/app?host=/tmp", "/tmp"),
]


@pytest.mark.parametrize(("text", "shown", "address"), SHOWN, ids=[s[0] for s in SHOWN])
def test_how_messages_show_the_database(text, shown, address):
    dsn = parse_dsn(text)
    assert (dsn.redacted(), str(dsn), dsn.address) == (shown, shown, address)
    assert SECRET not in repr(dsn)
