"""The floor: the workload's statements sent by one plain DBAPI connection in one
process, one transaction per migration where the database has transactional DDL
(PostgreSQL, SQLite), autocommit on MariaDB (DDL commits implicitly there anyway).
No tracking table, no lock, no catalog: what any tool must at least spend.

    python bench/floor.py DIALECT TARGET floor.json

TARGET is ``host:port/dbname`` (PostgreSQL, MariaDB) or a file path (SQLite).
"""

from __future__ import annotations

import json
import sys


def connect(dialect: str, target: str):
    if dialect == "sqlite":
        import sqlite3

        return sqlite3.connect(target, isolation_level=None)
    hostport, _, dbname = target.partition("/")
    host, _, port = hostport.partition(":")
    if dialect == "postgres":
        import psycopg

        return psycopg.connect(host=host, port=int(port), user="postgres", dbname=dbname, autocommit=True)
    import pymysql

    return pymysql.connect(host=host, port=int(port), user="root", password="", database=dbname,
                           autocommit=True)


def main(argv: list[str]) -> int:
    dialect, target, path = argv
    with open(path) as f:
        migrations = json.load(f)
    conn = connect(dialect, target)
    cur = conn.cursor()
    transactional = dialect != "mysql"
    for statements in migrations:
        if transactional:
            cur.execute("BEGIN")
        for sql in statements:
            cur.execute(sql)
        if transactional:
            cur.execute("COMMIT")
    conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
