"""5. Security checks.

- No secret anywhere: wherever a DSN carries one (the userinfo, `?password=` in any case,
  `?user=`+`?password=`, `sslpassword`, over TCP or a unix socket, in every DSN form of
  PostgreSQL and MariaDB), an operator lifecycle (up, status text and JSON, plan, verify,
  backfills, `-e` with $DSN, a lock timeout, a failing migration, a tracking desync, a
  connection failure, a wrong password, usage errors, console and debug logging) runs
  against databases that really check the password — a scram-sha-256 role on the
  suite's own PostgreSQL server, a MariaDB user with a password — and no secret (as
  written or percent-encoded; they hold `/ : @ #` and a space) appears in any stdout,
  stderr, or row of `<prefix>_migration_events`, `<prefix>_migrations`, `<prefix>_backfills`.
  Redaction neither mangles (a password `ro`, a password that is the service's name) nor
  leaks (two secrets, one beginning the other). A PostgreSQL connection to another
  machine that is not encrypted is logged (MIGRATION_CONNECTION_UNENCRYPTED).
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

import json
import shutil
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import MIGRATIONS, MYSQL_ADMIN, ROOT, make_db
from tests.conftest import TestDB as ThrowawayDB
from tests.reliability import support
from tests.reliability.support import PW_PASSWORD, PW_ROLE, describe, error_line, run, run_many

CLOSED = "postgres://app:pw@127.0.0.1:1/app"


# -- no secret in any output or row ------------------------------------------------------------

# Besides PW_PASSWORD (the role's and the MariaDB user's password: it holds '/ : @ #' and a
# space), a second secret where a DSN can carry one (sslpassword), and a wrong password.
# All three hold MARK, so any form of any of them (as written, percent-encoded, cut) is found.
MARK = "S3cr3t"
SECOND = "ssl/S3cr3t:k@y#2"
WRONG = "wr0ng/pw S3cr3t@x"
SECRETS = (PW_PASSWORD, SECOND, WRONG)
# Every place a secret can sit, in every DSN form, in any case. {p}: the password,
# percent-encoded; {p2}: the second secret. "refused": a DSN that is a usage error on every
# command (the secret is in a place the dialect does not take it from).
PLACES = {
    "postgres": {
        "userinfo": "postgres://{u}:{p}@{h}:{port}/{db}",
        "postgresql, ?password=": "postgresql://{u}@{h}:{port}/{db}?password={p}",
        "?user= and ?password=": "postgres://{h}:{port}/{db}?sslmode=disable&user={u}&password={p}",
        "unix socket, ?password=": "postgres://{u}@/{db}?host={sock}&port={port}&password={p}",
        "sslpassword beside the password": "postgres://{u}:{p}@{h}:{port}/{db}?sslmode=disable&sslpassword={p2}",
        "?PASSWORD= (refused: not a libpq name)": "postgres://{u}@{h}:{port}/{db}?PASSWORD={p}",
    },
    "mysql": {
        "userinfo": "mysql://{u}:{p}@{h}:{port}/{db}",
        "Go form": "mysql://{u}:{p}@tcp({h}:{port})/{db}?parseTime=true",
        "Go form, unix socket": "mysql://{u}:{p}@unix({sock})/{db}",
        "mariadb, ?password=": "mariadb://{u}@{h}:{port}/{db}?password={p}",
        "Go form, ?PASSWORD=": "mysql://{u}@tcp({h}:{port})/{db}?PASSWORD={p}",
        "?user= and ?Password=": "mysql://{h}:{port}/{db}?user={u}&Password={p}",
        "sslpassword (refused: never a session variable)": "mysql://{u}:{p}@{h}:{port}/{db}?sslpassword={p2}",
    },
}
BAD_OPTION = {"postgres": "frobnicate=1", "mysql": "sql-mode=ANSI"}


@dataclass
class SecretTarget:
    test_db: ThrowawayDB
    parts: dict  # u, h, port, db, sock

    def dsn(self, place: str, **changes) -> str:
        parts = {**self.parts, "p": quote(PW_PASSWORD, safe=""), "p2": quote(SECOND, safe=""), **changes}
        return PLACES[self.test_db.dialect][place].format(**parts)


@pytest.fixture
def secret_target(request, tmp_path):
    """secret_target(dialect): a database reached only with PW_PASSWORD: a scram-sha-256 role
    on the suite's own PostgreSQL server (whose sockets trust), or a MariaDB user of its own."""
    from migrator.config import parse_dsn

    cleanups = []

    def make(dialect: str) -> SecretTarget:
        if dialect == "postgres":
            server = request.getfixturevalue("scratch_pg")
            test_db = server.create_database(owner=PW_ROLE)
            return SecretTarget(test_db, dict(u=PW_ROLE, h="127.0.0.1", port=server.port, db=test_db.name,
                                              sock=server.base))
        test_db, drop = make_db("mysql", tmp_path)
        cleanups.append(drop)
        admin = parse_dsn(MYSQL_ADMIN)
        user = f"rel_{uuid.uuid4().hex[:10]}"
        hosts = ("%", "localhost", "127.0.0.1")
        cleanups.append(lambda: test_db.execute(*(f"DROP USER IF EXISTS '{user}'@'{host}'" for host in hosts)))
        for host in hosts:
            test_db.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY '{PW_PASSWORD}'",
                            f"GRANT ALL ON `{test_db.name}`.* TO '{user}'@'{host}'")
        sock = test_db.query("SELECT @@socket")[0][0]
        return SecretTarget(test_db, dict(u=user, h=admin.host, port=admin.port, db=test_db.name, sock=sock))

    yield make
    for cleanup in reversed(cleanups):
        cleanup()


def with_param(dsn: str, param: str) -> str:
    return dsn + ("&" if "?" in dsn else "?") + param


def leaks(text: str) -> bool:
    return MARK in text or any(quote(s, safe="") in text or quote(s) in text for s in SECRETS)


@pytest.mark.parametrize(("dialect", "place"), [(d, p) for d, places in PLACES.items() for p in places],
                         ids=[f"{d}: {p}" for d, places in PLACES.items() for p in places])
def test_no_secret_in_any_output_or_row(dialect, place, secret_target, tmp_path):
    """Wherever the DSN carries a secret, no command prints it (stdout, stderr, JSON and
    console logs, debug), whatever its outcome, and no own table stores it."""
    target = secret_target(dialect)
    test_db, dsn = target.test_db, target.dsn(place)
    refused = "refused" in place
    socket = "socket" in place
    full = place == "userinfo"  # the whole lifecycle once per database, its core for every place
    migrations = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS / "auth", migrations / "auth")
    m = dict(dsn=dsn, migrations=migrations, service="auth")
    outputs = {}

    def step(name, *args, code=0, everywhere=True, **kw):
        if not (everywhere or full):
            return None
        r = run(*args, **{**m, **kw})
        outputs[name] = r
        expected = 2 if refused else code
        assert r.code == expected, f"{name}: {describe(r)}"
        return r

    step("up-to-3", "up", "--target", "3")
    step("status", "status", log_format="console")
    step("status-json", "status", "--format", "json")
    step("status-check-behind", "status", "--check", code=1, everywhere=False)
    step("dry-run", "up", "--dry-run", everywhere=False)
    step("plan", "plan")
    step("up", "up")
    step("wait", "wait", "--timeout", "1", everywhere=False)
    step("verify-debug", "--log-level", "debug", "verify")
    step("backfill-run", "backfill", "run", everywhere=False)
    step("backfill-status", "backfill", "status", "--format", "json", everywhere=False)
    step("down", "down", "--yes", everywhere=False)
    step("up-again", "up", log_format="console", everywhere=False)
    step("force", "force", "8", "--yes", everywhere=False)
    step("env-dsn", "-e", "status", dsn=None, env={"DSN": dsn + "\n"})
    step("usage-error", "status", code=2, dsn=with_param(dsn, BAD_OPTION[dialect]))
    if not socket:
        step("usage-error-host", "status", code=2, dsn=target.dsn(place, h="bad host!"))
        step("connection-failure", "status", code=1, dsn=target.dsn(place, port=1))
        step("wrong-password", "status", code=1, dsn=target.dsn(place, p=quote(WRONG, safe="")))
    else:
        step("connection-failure", "status", code=1, dsn=target.dsn(place, sock="/nonexistent-socket-dir"))
    if full and not refused:
        holder = test_db.connect()  # another runner holds the lock
        try:
            assert holder.try_lock("platform")
            step("lock-timeout", "up", "--lock-timeout", "0", code=5)
        finally:
            holder.unlock("platform")
            holder.close()
    if not refused:
        broken = migrations / "auth" / dialect / "0009_broken.up.sql"
        broken.write_text("CREAT TABLE oops (id int);\n")
        step("failing-migration", "up", code=1)
        step("failing-migration-debug", "--log-level", "debug", "up", code=3 if dialect == "mysql" else 1,
             log_format="console")
        if dialect == "mysql":
            step("force-after-failure", "force", "8", "--yes")
        broken.unlink()
        test_db.execute("DROP TABLE secrets")  # a desync: tracking says auth 0004 created it
        step("desync-verify", "verify", code=4)

    printed = [name for name, r in outputs.items() if leaks(r.out + r.err)]
    assert not printed, f"a secret was printed by: {printed}\n" + "\n".join(
        describe(outputs[n]) for n in printed)
    for name, r in outputs.items():
        assert "Traceback" not in r.out + r.err or name.endswith("debug"), f"{name}: {describe(r)}"
        assert "internal error" not in r.err, f"{name}: {describe(r)}"
    if refused:
        assert test_db.tables() == set(), "a refused DSN changed the database"
        return
    db = test_db.connect()
    try:
        own = {"platform_migration_events", "platform_migrations", "platform_backfills"} & test_db.tables()
        rows = [(t, row) for t in sorted(own) for row in db.query(f"SELECT * FROM {db.quote(t)}")]
    finally:
        db.close()
    stored = [(t, row) for t, row in rows if leaks(" ".join(map(str, row)))]
    assert not stored, f"a secret is stored in: {stored}"
    assert any("MIGRATION_FAILED" in map(str, row) for t, row in rows if t == "platform_migration_events")
    support.report("security", f"{dialect}, {place}: {len(outputs)} commands, {len(rows)} own rows: no secret")


def one_service(tmp_path: Path, name: str) -> Path:
    root = tmp_path / "one-service"
    for dialect in ("postgres", "mysql"):
        (root / name / dialect).mkdir(parents=True)
        (root / name / dialect / "0001_t.up.sql").write_text("CREATE TABLE t1 (id INT PRIMARY KEY);\n")
    return root


def test_a_password_that_is_the_service_name_does_not_mask_it(make_database, tmp_path):
    """PostgreSQL here trusts 127.0.0.1, so the password ``cortex`` is accepted and ignored."""
    pg = make_database("postgres")
    dsn = pg.dsn.replace("@", ":cortex@", 1)
    root = one_service(tmp_path, "cortex")
    assert run("up", dsn=dsn, migrations=root).code == 0
    r = run("status", "--format", "json", dsn=dsn, migrations=root)
    assert r.code == 0, describe(r)
    assert json.loads(r.out)["service"] == "cortex" and "***" not in r.out
    assert all(line["service"] == "cortex" for line in map(json.loads, r.err.splitlines()) if "service" in line)


def test_a_short_password_does_not_mangle_words(make_database, tmp_path):
    """A wrong password ``ro`` (MariaDB refuses root with a password): the error line reads
    as the server wrote it (``Error``, ``error 1045``), and ``ro`` alone is never printed."""
    my = make_database("mysql")
    dsn = f"mysql://root:ro@tcp(127.0.0.1:3306)/{my.name}"
    r = run("status", dsn=dsn, migrations=one_service(tmp_path, "svc"))
    assert r.code == 1, describe(r)
    line = error_line(r)
    assert line.startswith("Error: cannot connect to mysql at 127.0.0.1:3306: Access denied for user 'root'@")
    assert line.endswith("(using password: YES) (error 1045)"), line
    assert "***" not in r.out + r.err


REDACT = """
import sys
from migrator import log
for secret in sys.argv[1:]:
    log.add_secret(secret)
log.operator("a=S3cret/x b=S3cret c=S3cret/xy d=S3cret%2Fx e=xS3cret f=S3cret_g Error")
"""


@pytest.mark.parametrize("order", [("S3cret", "S3cret/x"), ("S3cret/x", "S3cret")])
def test_two_secrets_one_beginning_the_other_never_leak_partially(order):
    out = subprocess.run([sys.executable, "-c", REDACT, *order], capture_output=True, text=True, cwd=ROOT,
                         check=True).stderr
    assert out == "a=*** b=*** c=***/xy d=*** e=xS3cret f=S3cret_g Error\n"


# -- plain text to another machine ---------------------------------------------------------------

def non_loopback_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_unencrypted_postgres_connection_to_another_machine_is_logged(make_scratch_pg, tmp_path):
    """libpq's default sslmode (prefer) falls back to plain text without a word: the
    migrator says it when the server is not on a loopback address or a socket."""
    from tests.conftest import unavailable

    address = non_loopback_address()
    if address is None:
        unavailable("this machine has no non-loopback IPv4 address to serve PostgreSQL on")
    server = make_scratch_pg("plain", settings={"listen_addresses": f"127.0.0.1,{address}"},
                             hba=[f"host all all {address}/32 trust"])
    test_db = server.create_database()
    root = one_service(tmp_path, "svc")

    def warnings(dsn: str) -> list[dict]:
        r = run("up", dsn=dsn, migrations=root)
        assert r.code == 0, describe(r)
        return [e for e in map(json.loads, r.err.splitlines()) if e["event"] == "MIGRATION_CONNECTION_UNENCRYPTED"]

    for query in ("", "?sslmode=disable", "?sslmode=prefer"):
        found = warnings(f"postgres://postgres@{address}:{server.port}/{test_db.name}{query}")
        assert len(found) == 1, found
        assert found[0]["level"] == "warning" and found[0]["host"] == address
        assert found[0]["message"] == (f"the connection to {address}:{server.port} is not encrypted: "
                                       "add sslmode=verify-full (or require) to the DSN")
    assert warnings(f"postgres://postgres@127.0.0.1:{server.port}/{test_db.name}") == []
    assert warnings(f"postgres://postgres@localhost:{server.port}/{test_db.name}") == []
    support.report("security", f"plain text to {address}: MIGRATION_CONNECTION_UNENCRYPTED; none on loopback")


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
