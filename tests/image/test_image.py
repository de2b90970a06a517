"""The container image (SPEC section 10), built by image/build.sh and run with the
flags of image/run.sh. Fixtures in tests/image/conftest.py."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "docker.io/library/debian:bookworm-slim"

MAX_DELTA_BYTES = 120 * 1000 * 1000  # "adds at most 120 MB to its base image"
RUNTIME_UID = "10001"
# What image/Dockerfile.dockerignore keeps out of the context under migrations/.
IGNORED = re.compile(r"(^|/)(__pycache__|\.DS_Store)(/|$)|\.(py[cod]|sqlite3?|db)$")


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def services_on_disk() -> list[str]:
    return sorted(p.name for p in (ROOT / "migrations").iterdir() if p.is_dir() and not IGNORED.search(p.name))


# --- configuration -------------------------------------------------------------------

def test_tagged_with_chart_app_version(image, app_version):
    tags = image.inspect().get("RepoTags") or []
    assert f"localhost/migrator:{app_version}" in tags or image.ref in tags, tags


def test_oci_labels(config, app_version):
    labels = config.get("Labels") or {}
    for key in ("version", "revision", "source", "title", "description", "licenses"):
        assert labels.get(f"org.opencontainers.image.{key}"), f"label org.opencontainers.image.{key} missing or empty"
    assert labels["org.opencontainers.image.version"] == app_version
    assert labels["org.opencontainers.image.title"] == "migrator"
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", labels["org.opencontainers.image.revision"])
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert labels["org.opencontainers.image.revision"] == head.stdout.strip()


def test_rebuild_of_another_commit_gets_its_own_revision_label(image):
    """Two builds of the same tree that differ only in the commit: the second must not
    reuse the first's label layer (buildah keys a LABEL step on its unexpanded text)."""
    ref = "localhost/migrator-revision-test:latest"
    env = {k: v for k, v in os.environ.items() if k != "MIGRATOR_IMAGE"}
    try:
        for revision in ("a" * 40, "b" * 40, "a" * 40):
            proc = subprocess.run(
                ["bash", str(ROOT / "image" / "build.sh")], cwd=ROOT, capture_output=True, text=True,
                env={**env, "MIGRATOR_IMAGE": ref, "MIGRATOR_IMAGE_REVISION": revision},
                timeout=1800, stdin=subprocess.DEVNULL,
            )
            ok(proc)
            labels = image.inspect(ref)["Config"].get("Labels") or {}
            assert labels.get("org.opencontainers.image.revision") == revision
            assert labels.get("org.opencontainers.image.title") == "migrator"
    finally:
        image.engine_cmd("rmi", "--force", ref)


def test_entrypoint_is_migrator(config):
    assert config["Entrypoint"] == ["migrator"]
    assert config.get("Cmd") == ["--help"]


def test_environment(config):
    env = dict(item.split("=", 1) for item in config.get("Env") or [])
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    assert env.get("PYTHONUNBUFFERED") == "1"
    assert env["PATH"].split(":")[0] == "/opt/migrator/venv/bin"
    assert "MIGRATOR_MIGRATIONS_DIR" not in env  # /migrations is the CLI's own default


def test_non_root_user(image, config):
    assert config["User"] in (RUNTIME_UID, f"{RUNTIME_UID}:{RUNTIME_UID}")
    out = ok(image.run("-u", opts=("--entrypoint", "id"))).strip()
    assert out == RUNTIME_UID
    assert ok(image.run("-g", opts=("--entrypoint", "id"))).strip() == RUNTIME_UID


def base_ref(labels: dict) -> str:
    """The base the build used, as its labels name it: by digest when it has one (the
    tag may point elsewhere since), e.g. docker.io/library/debian@sha256:..."""
    name = labels.get("org.opencontainers.image.base.name") or BASE_IMAGE
    digest = labels.get("org.opencontainers.image.base.digest")
    if not digest:
        return name
    repo = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    return f"{repo}@{digest}"


def size_delta(image, ref: str) -> tuple[int, str]:
    info = image.inspect(ref)
    base = base_ref(info["Config"].get("Labels") or {})
    return int(info["Size"]) - int(image.inspect(base)["Size"]), base


def test_size_delta_within_budget(image):
    delta, base = size_delta(image, image.ref)
    assert 0 < delta <= MAX_DELTA_BYTES, f"image adds {delta / 1e6:.1f} MB to {base} (limit 120 MB)"


def test_base_labels_name_the_base_it_was_built_on(image):
    """base.digest is the digest of the image both stages started FROM: the runtime
    image's bottom layer is the base's."""
    labels = image.inspect()["Config"].get("Labels") or {}
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", labels.get("org.opencontainers.image.base.digest", "")), labels
    base_layers = image.inspect(base_ref(labels))["RootFS"]["Layers"]
    assert image.inspect()["RootFS"]["Layers"][: len(base_layers)] == base_layers


@pytest.mark.parametrize("digest", ["sha256:abc", "latest", "sha256:" + "A" * 64])
def test_base_digest_must_be_a_sha256(digest):
    proc = subprocess.run(
        ["bash", str(ROOT / "image" / "build.sh")], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "MIGRATOR_BASE_DIGEST": digest, "MIGRATOR_IMAGE": "localhost/migrator-never-built:x"},
        timeout=60, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"Error: MIGRATOR_BASE_DIGEST must be sha256:<64 hex digits>, got {digest}"
    ]


def test_within_budget_on_a_base_without_apt_clean_up(image, tmp_path):
    """The official slim image deletes apt's caches by a hook of its own; a plain
    debootstrapped Debian has none (nor its dpkg excludes of docs and locales), and
    the caches (/var/cache/apt/*.bin, ~86 MB) must not stay in the image then."""
    tag = f"{os.getpid()}-{os.urandom(3).hex()}"
    plain = f"localhost/migrator-test-plain-base:{tag}"
    built = f"localhost/migrator-test-on-plain-base:{tag}"
    labels = image.inspect()["Config"].get("Labels") or {}
    (tmp_path / "Containerfile").write_text(
        f"FROM {base_ref(labels)}\n"
        "RUN rm -f /etc/apt/apt.conf.d/docker-clean /etc/dpkg/dpkg.cfg.d/docker\n"
    )
    isolation = ("--isolation", "chroot", "--pull=never") if image.engine == "podman" else ()
    try:
        ok(image.engine_cmd("build", *isolation, "-t", plain, str(tmp_path), timeout=600))
        env = {k: v for k, v in os.environ.items() if k not in ("MIGRATOR_IMAGE", "MIGRATOR_BASE_DIGEST")}
        ok(subprocess.run(
            ["bash", str(ROOT / "image" / "build.sh")], cwd=ROOT, capture_output=True, text=True,
            env={**env, "MIGRATOR_IMAGE": built, "MIGRATOR_BASE_IMAGE": plain},
            timeout=1800, stdin=subprocess.DEVNULL,
        ))
        delta, base = size_delta(image, built)
        assert base.startswith("localhost/migrator-test-plain-base@sha256:"), base
        assert 0 < delta <= MAX_DELTA_BYTES, f"image adds {delta / 1e6:.1f} MB to {base} (limit 120 MB)"
        leftovers = replace(image, ref=built).sh(
            "find /var/cache/apt /var/lib/apt/lists -type f \\( -name '*.bin' -o -name '*_Packages*' \\)",
            opts=("--user", "0"))
        assert ok(leftovers) == ""
    finally:
        image.engine_cmd("rmi", "--force", built)
        image.engine_cmd("rmi", "--force", plain)


# --- contents ------------------------------------------------------------------------

# Set-id programs of the base whose only job is to switch identity or credentials:
# removed in the runtime stage (see image/Dockerfile).
REMOVED = ("su", "newgrp", "sg", "passwd", "chsh", "chfn", "gpasswd", "chage", "expiry")


def test_no_setuid_or_setgid_files(image):
    # As root, so that no directory is out of find's reach.
    out = ok(image.sh("find / -xdev -type f -perm /6000 -print", opts=("--user", "0")))
    assert out == ""
    out = ok(image.sh(f"for exe in {' '.join(REMOVED)}; do command -v $exe || true; done"))
    assert out == ""
    # what debugging with `--entrypoint sh` and derived images' package scripts need stays
    ok(image.sh("command -v bash && command -v dpkg && command -v apt-get && command -v mount"))

def test_migrator_console_script_in_venv(image):
    assert ok(image.sh("command -v migrator")).strip() == "/opt/migrator/venv/bin/migrator"
    # The venv's interpreter is Debian's, at the same path as in the build stage.
    out = ok(image.sh("readlink -f /opt/migrator/venv/bin/python3; python3 -c 'import sys; print(sys.prefix)'"))
    assert out.split() == ["/usr/bin/python3.11", "/opt/migrator/venv"]


def test_dependencies_installed(image, project):
    names = [re.split(r"[\[<>=!~; ]", dep, maxsplit=1)[0] for dep in project["dependencies"]]
    code = (
        "import importlib.metadata as m\n"
        f"for name in {names!r}:\n"
        "    m.distribution(name)  # raises PackageNotFoundError when missing\n"
        "print(m.version('migrator'))\n"
    )
    assert ok(image.python(code)).strip() == project["version"]


def test_no_pip_in_runtime(image):
    code = (
        "import importlib.util, shutil, subprocess\n"
        "assert importlib.util.find_spec('pip') is None, 'pip importable from the venv'\n"
        "assert importlib.util.find_spec('ensurepip') is None, 'ensurepip present'\n"
        "for exe in ('pip', 'pip3', 'pip3.11'):\n"
        "    assert shutil.which(exe) is None, exe\n"
        "sysp = subprocess.run(['/usr/bin/python3', '-c', 'import pip'], capture_output=True)\n"
        "assert sysp.returncode != 0, 'pip importable from the system python'\n"
        "print('ok')\n"
    )
    assert ok(image.python(code)).strip() == "ok"
    # and no package manager for Python either: python3-venv is a build-stage package only
    assert image.sh("dpkg -s python3-pip python3-venv >/dev/null 2>&1").returncode != 0


def test_ca_bundle_is_debians_and_python_trusts_it(image):
    # The bundle is exactly what update-ca-certificates makes from Debian's package:
    # the certificates listed in /etc/ca-certificates.conf, nothing from the build
    # host (e.g. a proxy CA in /usr/local/share/ca-certificates).
    code = r"""
import os, ssl, subprocess
bundle = "/etc/ssl/certs/ca-certificates.crt"
data = open(bundle).read()
assert data.strip(), "empty bundle"
want = ""
for line in open("/etc/ca-certificates.conf"):
    line = line.strip()
    if line and not line.startswith(("#", "!")):
        text = open("/usr/share/ca-certificates/" + line).read()
        want += text if text.endswith("\n") else text + "\n"
assert data == want, "bundle differs from Debian's ca-certificates list"
assert subprocess.run(["dpkg", "-s", "ca-certificates"], capture_output=True).returncode == 0
paths = ssl.get_default_verify_paths()
assert os.path.realpath(paths.openssl_cafile) == bundle, paths
with_env = ssl.create_default_context().cert_store_stats()["x509_ca"]
os.environ.pop("SSL_CERT_FILE", None)  # OpenSSL's own default path, as without the ENV
without_env = ssl.create_default_context().cert_store_stats()["x509_ca"]
print(data.count("BEGIN CERTIFICATE"), with_env, without_env)
"""
    count, with_env, without_env = map(int, ok(image.python(code)).split())
    assert count >= 100
    assert with_env == without_env == count


def test_migrations_at_slash_migrations(image):
    code = r"""
import hashlib, json, os
out = {}
for dirpath, _, files in os.walk("/migrations"):
    for f in files:
        p = os.path.join(dirpath, f)
        out[os.path.relpath(p, "/migrations")] = hashlib.sha256(open(p, "rb").read()).hexdigest()
print(json.dumps(out))
"""
    in_image = json.loads(ok(image.python(code)))
    on_disk = {
        str(p.relative_to(ROOT / "migrations")): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (ROOT / "migrations").rglob("*")
        if p.is_file() and not IGNORED.search(str(p.relative_to(ROOT / "migrations")))
    }
    assert services_on_disk(), "no services under migrations/"
    assert sorted({k.split("/", 1)[0] for k in in_image if "/" in k}) == services_on_disk()
    assert in_image == on_disk
    # readable by the runtime user, writable by nobody but root
    assert ok(image.sh("find /migrations ! -readable -o -writable | head -n 5")) == ""


def test_read_only_root_filesystem(image):
    proc = image.sh("touch /opt/migrator/probe", opts=("--read-only",))
    assert proc.returncode != 0
    # Python runs without writing anything (no bytecode cache writes, no home dir).
    assert ok(image.python("import migrator, psycopg, pymysql, structlog, sqlite3, ssl; print('ok')",
                           opts=("--read-only",))).strip() == "ok"


# --- the CLI in the image ------------------------------------------------------------

@pytest.mark.usefixtures("cli_ready")
def test_version_read_only(image, project):
    out = ok(image.run("version", opts=("--read-only",)))
    assert project["version"] in out
    # it found the shipped migrations at /migrations by itself (SPEC: per service)
    for service in services_on_disk():
        assert service in out, f"{service} missing from `migrator version`"


@pytest.mark.usefixtures("cli_ready")
def test_default_command_is_help(image):
    proc = image.run(opts=("--read-only",))
    assert proc.returncode == 0, proc.stderr
    assert "usage" in (proc.stdout + proc.stderr).lower()


def _sqlite_service() -> str:
    services = [s for s in services_on_disk() if (ROOT / "migrations" / s / "sqlite").is_dir()]
    if not services:
        pytest.skip("no service ships sqlite migrations")
    return "auth" if "auth" in services else services[0]


def _table_prefix(service: str) -> str:
    toml = ROOT / "migrations" / service / "service.toml"
    if toml.is_file():
        with open(toml, "rb") as fh:
            prefix = tomllib.load(fh).get("table_prefix")
        if prefix:
            return prefix
    return re.sub(r"(?<!^)(?=[A-Z])", "_", service).lower()


@pytest.mark.usefixtures("cli_ready")
def test_up_sqlite_on_tmpfs_with_read_only_root(image):
    service = _sqlite_service()
    versions = sorted({int(p.name.split("_", 1)[0])
                       for p in (ROOT / "migrations" / service / "sqlite").glob("*.up.sql")})
    dsn = "sqlite:///data/migrator.db"
    cli = f"migrator --database {dsn} --service {service} --log-format json"
    script = f"""
set -e
{cli} up
{cli} up
{cli} status --format json --check > /data/status.json
python3 - <<'EOF'
import json, sqlite3
status = json.load(open("/data/status.json"))
con = sqlite3.connect("/data/migrator.db")
tables = [r[0] for r in con.execute("select name from sqlite_master where type = 'table'")]
print(json.dumps({{"status": status, "tables": tables}}))
EOF
"""
    proc = image.sh(script, opts=("--read-only", "--tmpfs", "/data:rw,mode=1777"))
    result = json.loads(ok(proc).strip().splitlines()[-1])
    status, tables = result["status"], result["tables"]
    assert status["service"] == service
    assert status["pending"] == 0 and status["dirty"] is False
    assert [m["version"] for m in status["migrations"]] == versions
    assert all(m["status"] == "OK" for m in status["migrations"])
    assert f"{_table_prefix(service)}_migrations" in tables
    assert len(tables) > 3  # the service's own tables, not only the migrator's
