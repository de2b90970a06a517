"""5. Security checks.

- No password anywhere: a whole operator lifecycle (version, plan, dry run, up, status in
  both formats, --check, verify, backfill list/run/status, down, force, wait, a lock
  timeout, a failing migration, a tracking desync, debug logging, `-e` with $DSN) runs
  against databases that really check a password — a scram-sha-256 role on the suite's
  own PostgreSQL server, a MariaDB user with a password — and the password (as written
  and percent-encoded; it holds `/ : @ #` and a space) must appear in no stdout, no
  stderr, no row of `<prefix>_migration_events`, `<prefix>_migrations` or
  `<prefix>_backfills`.
- The image runs as a non-root user with a read-only root filesystem — even without a
  writable /tmp, with every capability dropped and no-new-privileges — and migrates a
  real database that way (reuses the image fixture of tests/image; in CI a missing
  container engine fails).
- Every container the chart renders (migration hooks, backfill Jobs, test Pods) drops
  all capabilities, adds none, runs non-root, read-only, without privilege escalation.
- Identifiers from files and flags never reach SQL: a `service.toml` table_prefix or a
  service folder name with quotes, semicolons, backticks, spaces... is exit 2, as is
  such a `--service`, before any connection is attempted (the DSN points at a closed
  port: had the migrator connected, it would have exited 1).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import MIGRATIONS, MYSQL_ADMIN, make_db
from tests.reliability import support
from tests.reliability.support import PW_PASSWORD, PW_ROLE, describe, error_line, run, run_many

CLOSED = "postgres://app:pw@127.0.0.1:1/app"


# -- no password in any output or row -----------------------------------------------------

@pytest.fixture
def password_db(request, tmp_path):
    """(TestDB for inspection, DSN that needs PW_PASSWORD) on PostgreSQL or MariaDB."""
    dialect = request.param
    if dialect == "postgres":
        server = request.getfixturevalue("scratch_pg")
        test_db = server.create_database(owner=PW_ROLE)
        yield test_db, server.dsn(test_db.name, PW_ROLE, PW_PASSWORD)
        return
    test_db, drop = make_db("mysql", tmp_path)
    from migrator.config import parse_dsn

    admin = parse_dsn(MYSQL_ADMIN)
    user = f"rel_{uuid.uuid4().hex[:10]}"
    conn = test_db.connect()
    try:
        conn.run_script_statement(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{PW_PASSWORD}'")
        conn.run_script_statement(f"GRANT ALL ON `{test_db.name}`.* TO '{user}'@'127.0.0.1'")
    finally:
        conn.close()
    yield test_db, f"mysql://{user}:{quote(PW_PASSWORD, safe='')}@{admin.host}:{admin.port}/{test_db.name}"
    conn = test_db.connect()
    try:
        conn.run_script_statement(f"DROP USER IF EXISTS '{user}'@'127.0.0.1'")
    finally:
        conn.close()
    drop()


def leaks(text: str) -> list[str]:
    forms = {PW_PASSWORD, quote(PW_PASSWORD, safe=""), quote(PW_PASSWORD), PW_PASSWORD.split("/")[1]}
    return [f for f in forms if f in text]


@pytest.mark.parametrize("password_db", ["postgres", "mysql"], indirect=True)
def test_no_password_in_any_output_or_row(password_db, tmp_path):
    test_db, dsn = password_db
    dialect = test_db.dialect
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS / "auth", migrations / "auth")
    m = dict(dsn=dsn, migrations=migrations, service="auth")
    outputs = {}

    def step(name, *args, code=0, **kw):
        r = run(*args, **{**m, **kw})
        outputs[name] = r
        assert r.code == code, f"{name}: {describe(r)}"
        return r

    step("version", "version")
    step("plan", "plan")
    step("dry-run", "up", "--dry-run")
    step("up-to-3", "up", "--target", "3")
    step("status", "status")
    step("status-json", "status", "--format", "json")
    step("status-check-behind", "status", "--check", code=1)
    step("up", "up")
    step("verify", "verify", "--log-level", "debug")
    step("backfill-list", "backfill", "list")
    step("backfill-run", "backfill", "run")
    step("backfill-status", "backfill", "status", "--format", "json")
    step("down", "down", "--yes")
    step("up-again", "up")
    step("force", "force", "8", "--yes")
    step("wait", "wait", "--timeout", "1")
    step("env-dsn", "-e", "status", dsn=None, env={"DSN": dsn})
    step("env-database-url", "-e", "status", dsn=None, env={"DATABASE_URL": dsn})
    holder = test_db.connect()  # another runner holds the lock
    try:
        assert holder.try_lock("platform")
        step("lock-timeout", "up", "--lock-timeout", "0", code=5)
    finally:
        holder.unlock("platform")
        holder.close()
    broken = migrations / "auth" / dialect / "0009_broken.up.sql"
    broken.write_text("CREAT TABLE oops (id int);\n")
    step("failing-migration", "up", code=1)
    step("failing-migration-debug", "up", "--log-level", "debug", code=3 if dialect == "mysql" else 1)
    if dialect == "mysql":
        step("force-after-failure", "force", "8", "--yes")
    broken.unlink()
    test_db.execute("DROP TABLE secrets")  # a desync: tracking says auth 0004 created it
    step("desync-verify", "verify", code=4)
    step("desync-up", "up", code=4, env={"MIGRATE_REPAIR_TRACKING": "1"})
    step("connect-wrong-database", "status", code=1,
         dsn=dsn.rsplit("/", 1)[0] + "/mt_reliability_missing")

    printed = {name: leaks(r.out + r.err) for name, r in outputs.items()}
    printed = {k: v for k, v in printed.items() if v}
    assert not printed, f"the password was printed by: {printed}"
    for name, r in outputs.items():
        assert "Traceback" not in r.out + r.err or name.endswith("debug"), f"{name}: {describe(r)}"

    db = test_db.connect()
    try:
        rows = []
        for table in ("platform_migration_events", "platform_migrations", "platform_backfills"):
            rows += [(table, row) for row in db.query(f"SELECT * FROM {db.quote(table)}")]
    finally:
        db.close()
    stored = [(t, row) for t, row in rows if leaks(" ".join(map(str, row)))]
    assert not stored, f"the password is stored in: {stored}"
    events = [row for t, row in rows if t == "platform_migration_events"]
    assert any("MIGRATION_FAILED" in map(str, row) for row in events)
    support.report("security", f"{dialect}: {len(outputs)} commands with a real password DSN, "
                               f"{len(rows)} tracking/event/backfill rows: no password anywhere")


# -- the image ---------------------------------------------------------------------------------

HARDENED = ("--read-only", "--read-only-tmpfs=false", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")


def test_image_runs_non_root_with_read_only_root_filesystem(image, make_database):
    opts = HARDENED if image.engine == "podman" else tuple(o for o in HARDENED if o != "--read-only-tmpfs=false")
    probe = image.sh("id -u; id -g; touch /probe 2>&1 || echo root-fs-read-only; "
                     "touch /tmp/probe 2>&1 || echo tmp-read-only; grep CapEff /proc/self/status",
                     opts=opts)
    assert probe.returncode == 0, probe.stderr
    lines = probe.stdout.split()
    assert lines[0] == "10001" and lines[1] == "10001", probe.stdout
    assert "root-fs-read-only" in probe.stdout, probe.stdout
    assert "CapEff:\t0000000000000000" in probe.stdout.replace(" ", "\t") or \
        probe.stdout.split("CapEff:")[1].split()[0].strip("0") == "", probe.stdout

    test_db = make_database("postgres")
    from migrator.config import parse_dsn

    d = parse_dsn(test_db.dsn)
    dsn = f"postgres://{d.user}:{quote(PW_PASSWORD, safe='')}@{d.host}:{d.port}/{d.database}"
    up = image.run("--database", dsn, "--service", "auth", "--log-format", "json", "up", opts=opts)
    assert up.returncode == 0, f"{up.stdout}\n{up.stderr}"
    verify = image.run("--database", dsn, "--service", "auth", "verify", opts=opts)
    assert verify.returncode == 0, f"{verify.stdout}\n{verify.stderr}"
    assert not leaks(up.stdout + up.stderr + verify.stdout + verify.stderr)
    support.report("security", f"image {image.ref}: uid/gid 10001, read-only root (no writable /tmp), "
                               "no capabilities, no-new-privileges: `up` and `verify` of auth succeed")


# -- the chart ---------------------------------------------------------------------------------

def test_rendered_containers_drop_all_capabilities(helm):
    from tests.chart.chart_helpers import SERVICES as CHART_SERVICES

    set_values = {"auth.migration.database.dsn": "postgres://app:pw@db:5432/app"}
    set_values.update({f"{s}.backfill.enabled": True for s in CHART_SERVICES})
    docs = helm.template(set_values=set_values)
    checked = []
    for doc in docs:
        if doc.get("kind") not in ("Job", "Pod", "CronJob", "Deployment"):
            continue
        spec = doc["spec"]["template"]["spec"] if doc["kind"] == "Job" else doc["spec"]
        pod_ctx = spec.get("securityContext") or {}
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            where = f"{doc['kind']} {doc['metadata']['name']} container {c['name']}"
            sc = c.get("securityContext") or {}
            caps = sc.get("capabilities") or {}
            assert "ALL" in (caps.get("drop") or []), f"{where}: capabilities not all dropped: {caps}"
            assert not caps.get("add"), f"{where}: adds capabilities {caps.get('add')}"
            assert sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation"
            assert sc.get("readOnlyRootFilesystem") is True, f"{where}: root filesystem writable"
            assert not sc.get("privileged"), f"{where}: privileged"
            non_root = sc.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
            uid = sc.get("runAsUser", pod_ctx.get("runAsUser"))
            assert non_root is True and uid not in (0, None), f"{where}: may run as root ({non_root}, {uid})"
            checked.append(where)
    kinds = {w.split()[0] for w in checked}
    assert len([w for w in checked if "migration" in w]) >= len(CHART_SERVICES), checked
    assert {"Job", "Pod"} <= kinds, checked
    support.report("security", f"{helm.name}: {len(checked)} rendered containers (migration and backfill "
                               "Jobs, test Pods) drop ALL capabilities, non-root, read-only, no escalation")


# -- identifiers ---------------------------------------------------------------------------------

BAD_PREFIXES = ['svc"; DROP TABLE users; --', "svc'; DROP TABLE users; --", "svc`x", "svc;x", "svc x",
                "svc-x", "Svc", "1svc", "", "sv\u00e9", "s" * 42]
BAD_SERVICE_DIRS = ['we"ird', "a;b", "back`tick", "sp ace", "Drop Table"]
BAD_FLAGS = ['auth"; DROP TABLE users; --', "auth;", "auth'", "../auth", "auth\x00"]


def test_identifiers_with_quotes_or_semicolons_are_rejected(tmp_path):
    cases = []
    for i, prefix in enumerate(BAD_PREFIXES):
        root = tmp_path / f"prefix{i}"
        (root / "svc" / "postgres").mkdir(parents=True)
        (root / "svc" / "postgres" / "0001_t.up.sql").write_text("CREATE TABLE t (id int);\n")
        escaped = prefix.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        (root / "svc" / "service.toml").write_text(f'table_prefix = "{escaped}"\n')
        cases.append((f"table_prefix {prefix!r}", support.argv("up", dsn=CLOSED, migrations=root, service="svc")))
    for i, name in enumerate(BAD_SERVICE_DIRS):
        root = tmp_path / f"dir{i}"
        (root / name / "postgres").mkdir(parents=True)
        (root / name / "postgres" / "0001_t.up.sql").write_text("CREATE TABLE t (id int);\n")
        (root / "other" / "postgres").mkdir(parents=True)
        cases.append((f"service folder {name!r}", support.argv("up", dsn=CLOSED, migrations=root, service=name)))
    for name in BAD_FLAGS:
        if "\x00" in name:
            continue  # not representable in argv
        cases.append((f"--service {name!r}", support.argv("up", dsn=CLOSED, migrations=MIGRATIONS, service=name)))
    cases.append(("backfill table", support.argv("backfill", "run", dsn=CLOSED, migrations=_bad_backfill(tmp_path),
                                                 service="svc")))
    results = run_many(cases)
    bad = {}
    for label, r in results.items():
        line = error_line(r) or ""
        if r.code != 2 or not line or "Traceback" in r.out + r.err or "internal error" in line:
            bad[label] = describe(r, 400)
    assert not bad, "\n\n".join(f"{k}:\n{v}" for k, v in bad.items())
    support.report("security", f"{len(results)} hostile identifiers (table prefixes, service folders, --service, "
                               "backfill table) rejected with exit 2 before connecting")


def test_table_prefix_with_a_trailing_newline_is_rejected(tmp_path):
    root = tmp_path / "m"
    (root / "svc" / "postgres").mkdir(parents=True)
    (root / "svc" / "postgres" / "0001_t.up.sql").write_text("CREATE TABLE t (id int);\n")
    (root / "svc" / "service.toml").write_text('table_prefix = "svc\\n"\n')
    r = run("up", dsn=CLOSED, migrations=root, service="svc")
    assert r.code == 2 and "invalid table prefix" in (error_line(r) or ""), describe(r)


def _bad_backfill(tmp_path: Path) -> Path:
    root = tmp_path / "backfill"
    (root / "svc" / "postgres").mkdir(parents=True)
    (root / "svc" / "postgres" / "0001_t.up.sql").write_text("CREATE TABLE t (id int PRIMARY KEY, v int);\n")
    (root / "svc" / "backfills").mkdir()
    (root / "svc" / "backfills" / "fill.toml").write_text(
        'requires = 1\ntable = "t; DROP TABLE users"\nkey = "id"\nbatch_size = 10\n'
        '[sql]\npostgres = "UPDATE t SET v = 1 WHERE id >= :lo AND id < :hi"\n')
    return root
