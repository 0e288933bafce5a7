"""A database's schema as plain data, to compare one with another: what an upgrade made against what today's code
makes on a fresh database (tests/test_upgrades.py), and each old commit's against the next
(tests/fixtures/schemas/make.py).

Only what changes behaviour is kept: each table's columns (type, NOT NULL, default, primary key; on SQLite, an
integer primary key's AUTOINCREMENT with its type), its indexes
(columns and uniqueness, whether declared in CREATE TABLE or by CREATE INDEX, whatever their names) and its
foreign keys (columns, target, ON DELETE). Column order is not kept: an added column goes last.
"""

from __future__ import annotations

import sqlite3

BOOKKEEPING = {"schema_version"}   # the upgrades' own record, not the app's tables


def sqlite_schema(connection: sqlite3.Connection) -> dict[str, dict]:
    tables = [name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    schema = {}
    for table in tables:
        if table in BOOKKEEPING:
            continue
        (made,) = connection.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        never_reused = " AUTOINCREMENT" if "AUTOINCREMENT" in made.upper() else ""   # (its integer primary key's)
        columns = {name: {"type": kind.upper() + (never_reused if pk else ""), "not_null": bool(not_null),
                          "default": default, "primary_key": pk}
                   for _, name, kind, not_null, default, pk in connection.execute(f'PRAGMA table_info("{table}")')}
        indexes = set()
        for _, index, unique, origin, _ in connection.execute(f'PRAGMA index_list("{table}")'):
            if origin == "pk":
                continue   # the primary key is already said in its column
            names = tuple(row[2] for row in connection.execute(f'PRAGMA index_info("{index}")'))
            indexes.add((names, bool(unique)))
        foreign_keys: dict[int, dict] = {}
        for key_id, _, target, source, target_column, _, on_delete, _ in connection.execute(
                f'PRAGMA foreign_key_list("{table}")'):
            key = foreign_keys.setdefault(key_id, {"columns": [], "target": target, "target_columns": [],
                                                   "on_delete": on_delete.upper()})
            key["columns"].append(source)
            key["target_columns"].append(target_column)
        schema[table] = {"columns": columns, "indexes": sorted(indexes),
                         "foreign_keys": sorted(_freeze(key) for key in foreign_keys.values())}
    return schema


def postgresql_schema(connection) -> dict[str, dict]:
    """The same description from a psycopg connection to a PostgreSQL database (its public schema)."""
    tables = [name for (name,) in connection.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]
    schema = {}
    for table in tables:
        if table in BOOKKEEPING:
            continue
        primary = {name for (name,) in connection.execute(
            """SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid
               AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s::regclass AND i.indisprimary""", (f'"{table}"',))}
        columns = {name: {"type": kind.upper(), "not_null": not_null,
                          "default": None if (default or "").startswith("nextval(") else default,   # the id's
                          "primary_key": int(name in primary)}
                   for name, kind, not_null, default in connection.execute(
                       """SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                                 pg_get_expr(d.adbin, d.adrelid)
                          FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                          WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped""",
                       (f'"{table}"',))}
        indexes = {(tuple(names), unique) for names, unique in connection.execute(
            """SELECT array_agg(a.attname ORDER BY k.ordinality), i.indisunique
               FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ordinality)
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
               WHERE i.indrelid = %s::regclass AND NOT i.indisprimary GROUP BY i.indexrelid, i.indisunique""",
            (f'"{table}"',))}
        foreign_keys = [_freeze({"columns": list(columns_), "target": target, "target_columns": list(targets),
                                 "on_delete": on_delete})
                        for columns_, target, targets, on_delete in connection.execute(
                            """SELECT (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.conkey) WITH ORDINALITY
                                       k(attnum, n) JOIN pg_attribute a ON a.attrelid = c.conrelid
                                       AND a.attnum = k.attnum),
                                      c.confrelid::regclass::text,
                                      (SELECT array_agg(a.attname ORDER BY k.n) FROM unnest(c.confkey) WITH ORDINALITY
                                       k(attnum, n) JOIN pg_attribute a ON a.attrelid = c.confrelid
                                       AND a.attnum = k.attnum),
                                      CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT'
                                           WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END
                               FROM pg_constraint c WHERE c.conrelid = %s::regclass AND c.contype = 'f'""",
                            (f'"{table}"',))]
        schema[table] = {"columns": columns, "indexes": sorted(indexes), "foreign_keys": sorted(foreign_keys)}
    return schema


def row_counts(connection, schema: dict[str, dict]) -> dict[str, int]:
    """Rows in each table (any DB-API connection with .execute: sqlite3 or psycopg)."""
    return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in schema}


def references(connection, schema: dict[str, dict]) -> dict[str, dict[str, dict[str, int | None]]]:
    """Every foreign key value of every row, by table and row id: a link an upgrade cut (ON DELETE SET NULL
    while a table was rebuilt) leaves the row count alone, so counting rows is not enough."""
    found = {}
    for table, description in schema.items():
        columns = sorted({column for key in description["foreign_keys"] for column in key[0]})
        if columns:
            rows = connection.execute(f'SELECT id, {", ".join(columns)} FROM "{table}" ORDER BY id').fetchall()
            found[table] = {str(row[0]): dict(zip(columns, row[1:])) for row in rows}
    return found


def _freeze(key: dict) -> tuple:
    return (tuple(key["columns"]), key["target"].strip('"'), tuple(key["target_columns"]), key["on_delete"])


def differences(found: dict[str, dict], wanted: dict[str, dict], wanted_is: str = "a fresh database") -> list[str]:
    """Every way `found` differs from `wanted`, one line each, naming the table and column, index or key."""
    lines = []
    for table in sorted(wanted.keys() - found.keys()):
        lines.append(f"{table}: missing table")
    for table in sorted(found.keys() - wanted.keys()):
        lines.append(f"{table}: table not in {wanted_is}")
    for table in sorted(found.keys() & wanted.keys()):
        have, want = found[table], wanted[table]
        for column in sorted(want["columns"].keys() - have["columns"].keys()):
            lines.append(f"{table}.{column}: missing column {want['columns'][column]}")
        for column in sorted(have["columns"].keys() - want["columns"].keys()):
            lines.append(f"{table}.{column}: column not in {wanted_is} {have['columns'][column]}")
        for column in sorted(have["columns"].keys() & want["columns"].keys()):
            mine, theirs = have["columns"][column], want["columns"][column]
            lines += [f"{table}.{column}: {attribute} is {mine[attribute]!r}, {wanted_is} has {theirs[attribute]!r}"
                      for attribute in mine if mine[attribute] != theirs[attribute]]
        for kind in ("indexes", "foreign_keys"):
            have_set, want_set = set(map(_hashable, have[kind])), set(map(_hashable, want[kind]))
            for item in sorted(want_set - have_set):
                lines.append(f"{table}: missing {_describe(kind, item)}")
            for item in sorted(have_set - want_set):
                lines.append(f"{table}: {_describe(kind, item)} not in {wanted_is}")
    return lines


def _hashable(item) -> tuple:
    return tuple(tuple(part) if isinstance(part, list) else part for part in item)


def _describe(kind: str, item: tuple) -> str:
    if kind == "indexes":
        columns, unique = item
        return f"{'unique ' if unique else ''}index on ({', '.join(columns)})"
    columns, target, target_columns, on_delete = item
    return f"foreign key ({', '.join(columns)}) -> {target}({', '.join(target_columns)}) ON DELETE {on_delete}"
