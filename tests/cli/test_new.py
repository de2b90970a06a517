"""`migrator new --service S TITLE`: the next version's empty up and down files in every
dialect folder of the service, numbered in the service's own scheme; no database."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from migrator.scaffold import next_version, slug

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)


def written(result) -> list[str]:
    assert result.code == 0, result.text
    return result.out.splitlines()


def test_new_writes_up_and_down_in_every_dialect_folder(cli, write_migrations, tmp_path):
    root = write_migrations({
        "postgres": {"0001_a.up.sql": "CREATE TABLE a (id INT);", "0002_b.up.sql": "CREATE TABLE b (id INT);"},
        "sqlite": {"0001_a.up.sql": "CREATE TABLE a (id INT);", "0002_b.up.sql": "CREATE TABLE b (id INT);",
                   "0002_b.down.sql": "DROP TABLE b;"},
        "mysql": {},
    })
    paths = written(cli("new", "--service", "svc", "Add user e-mail", "Café", migrations=root))
    names = ["0003_add_user_e-mail_cafe.up.sql", "0003_add_user_e-mail_cafe.down.sql"]
    assert paths == [str(root / "svc" / d / n) for d in ("postgres", "mysql", "sqlite") for n in names]
    for path in paths:
        assert re.fullmatch(r"-- [^\n]*\n", open(path).read())  # comment only: a valid no-op
    up = cli("up", dsn=f"sqlite://{tmp_path / 'n.db'}", migrations=root)
    assert up.code == 0 and "Applied 3 migrations: service svc is at version 3." in up.out


def test_new_on_the_example_platform_follows_its_numbering(cli, example_copy):
    latest = max(int(p.name.split("_")[0]) for p in (example_copy / "auth" / "postgres").glob("*.up.sql"))
    paths = written(cli("new", "backfill audit index", migrations=example_copy, service="auth"))
    assert paths and all(f"/{latest + 1:04d}_backfill_audit_index." in p for p in paths)
    assert {p.split("/")[-2] for p in paths} == {d.name for d in (example_copy / "auth").iterdir() if d.is_dir()
                                                   and d.name in ("postgres", "mysql", "sqlite", "cockroach")}


def test_forward_only_service_gets_no_down_file(cli, write_migrations):
    root = write_migrations({"postgres": {"0001_a.up.sql": ""}}, service_toml="forward_only = true\n")
    paths = written(cli("new", "x", migrations=root, service="svc"))
    assert [p.rsplit("/", 1)[1] for p in paths] == ["0002_x.up.sql"]


@pytest.mark.parametrize("args, message", [
    (["new", "--service", "nope", "x"], "Error: unknown service 'nope' (available: svc)"),
    (["new", "--service", "svc", "!!!"], "Error: invalid migration title '!!!': it needs at least one ASCII "
                                         "letter or digit"),
])
def test_new_refuses(cli, write_migrations, args, message):
    root = write_migrations({"sqlite": {"0001_a.up.sql": ""}})
    result = cli(*args, migrations=root)
    assert result.code == 2 and result.out == ""
    assert [line for line in result.err.splitlines() if not line.startswith("{")] == [message]
    assert sorted(p.name for p in (root / "svc" / "sqlite").iterdir()) == ["0001_a.up.sql"]


@pytest.mark.parametrize("versions, expected", [
    ([], "0001"),
    (["0001", "0002"], "0003"),
    (["001", "012"], "013"),
    (["9", "10"], "11"),
    (["0099"], "0100"),
    (["9999"], "10000"),
    (["20240101120000", "20250101120000"], "20260304050607"),  # now, UTC
    (["29990101000000"], "29990101000001"),  # a version from the future: one past it
])
def test_next_version_follows_the_scheme(versions, expected):
    assert next_version(versions, NOW) == expected


@pytest.mark.parametrize("title, expected", [
    ("Add user email", "add_user_email"),
    ("  rename  users.name -> users.full_name ", "rename_users.name_-_users.full_name"),
    ("x\nDROP TABLE users;", "x_drop_table_users"),
    ("Ajout d'un champ été", "ajout_d_un_champ_ete"),
])
def test_slug(title, expected):
    assert slug(title) == expected
