"""The bulk writers: the only SQL written by hand, for writing many rows at once (and the change log's
counter and snapshots, at the end).

SQLite: multi-row INSERTs and executemany UPDATEs. Django's bulk_create and bulk_update build the same
statements but prepare every value through its field in Python (bulk_create: 30 µs a row;
bulk_update's CASE WHEN per row is quadratic on SQLite); these take values already clean and convert
only the columns that need it (dates, JSON).

PostgreSQL: COPY. A 100,000-row commit through multi-row INSERTs took 14.6 s, most of it psycopg
splitting statements of thousands of placeholders and waiting on round trips, against 0.6 s for a
COPY of the same rows (issue 12). New rows get their ids from the sequence in one query and are
COPied with them (measured against COPY into a temporary table then INSERT … SELECT … RETURNING: the
same time, and the ids come back in the rows' order by construction); updates are COPied into a
temporary table and applied by one UPDATE … FROM.
"""

import contextlib
import datetime
import functools
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from django.db import connection

T = TypeVar("T")

# Off only in tests that hold the COPY path to the multi-row statements' results.
COPY_ON_POSTGRESQL = True

# Ids in one IN list (or one locking statement): within SQLite's 999 query parameters (PostgreSQL has no
# such limit). Every module that slices ids for a statement takes this one figure.
IDS_PER_STATEMENT = 900


def in_slices(ids: Sequence[T]) -> Iterator[Sequence[T]]:
    """`ids` in slices of IDS_PER_STATEMENT, in their order: one statement each."""
    for start in range(0, len(ids), IDS_PER_STATEMENT):
        yield ids[start : start + IDS_PER_STATEMENT]


def _copies() -> bool:
    return connection.vendor == "postgresql" and COPY_ON_POSTGRESQL


def _preparers(model, names: list[str]) -> list:
    """Per column: None (the driver takes the value as it is) or a function giving the database value."""
    preparers = []
    for name in names:
        field = model._meta.get_field(name)  # also finds `customer_id`
        internal = field.get_internal_type()
        if internal == "JSONField" and field.encoder is None:
            # What JSONField.get_db_prep_save gives (None stays SQL NULL), without its layers: 0.3 µs
            # a value instead of 3 µs, for the change log's 100,000 rows of an import.
            preparers.append(_json_text)
        elif internal in ("DateTimeField", "JSONField", "DateField", "DecimalField"):
            preparers.append(functools.partial(field.get_db_prep_save, connection=connection))
        else:
            preparers.append(None)
    return preparers


def _json_text(value) -> str | None:
    return None if value is None else json.dumps(value)


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _prepared(rows: list[tuple], preparers: list) -> list:
    """Flat parameters, converted column by column (the other columns are copied as they are); a
    datetime shared by every row (the import's `now`) is converted once."""
    converting = [(index, prepare) for index, prepare in enumerate(preparers) if prepare is not None]
    if not converting:
        return list(itertools.chain.from_iterable(rows))
    converted: dict = {}
    params: list = []
    for row in rows:
        values = list(row)
        for index, prepare in converting:
            value = values[index]
            if isinstance(value, datetime.datetime):
                if value not in converted:
                    converted[value] = prepare(value)
                values[index] = converted[value]
            else:
                values[index] = prepare(value)
        params.extend(values)
    return params


def insert_rows(
    model,
    names: list[str],
    rows: list[tuple],
    *,
    batch_size: int = 1000,
    returning: bool = True,
    constants: dict | None = None,
):
    """Insert `rows` (values in `names` order); returns the new ids in order (when `returning`).

    `constants` are columns with the same value in every row (the change log's organization, channel,
    who and when): SQLite gets them once per statement, not once per row, which halves the parameters
    of the change log's statements (their binding was a third of an import's log write).
    """
    if not rows:
        return []
    constants = constants or {}
    if _copies():
        # COPY takes them in every row, added as each row is sent (no copy of 100,000 rows in memory).
        names = [*names, *constants]
        return _copy_insert(model, names, rows, returning=returning, extra=tuple(constants.values()))
    if constants and connection.vendor != "sqlite":
        # Only SQLite takes them once per statement (its VALUES columns are typed by the SELECT's
        # target; PostgreSQL's would be text): elsewhere they go in every row.
        values = tuple(constants.values())
        names, rows, constants = [*names, *constants], [(*row, *values) for row in rows], {}
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        objs = [
            model(**dict(zip([*names, *constants], (*row, *constants.values()), strict=True))) for row in rows
        ]
        model.objects.bulk_create(objs, batch_size=batch_size)
        return [obj.pk for obj in objs]
    quote = connection.ops.quote_name
    preparers = _preparers(model, names)
    max_params = connection.features.max_query_params
    room = max_params - len(constants) if max_params else 0
    per_statement = min(batch_size, room // len(names)) if max_params else batch_size
    columns = ", ".join(_column(model, n) for n in [*names, *constants])
    head = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "
    tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    fixed: list = []
    if constants:
        # SQLite names the columns of a VALUES list column1, column2, …
        selected = ", ".join([*(f"column{i + 1}" for i in range(len(names))), *["%s"] * len(constants)])
        head += f"SELECT {selected} FROM (VALUES "
        tail = ")" + tail
        fixed = _prepared([tuple(constants.values())], _preparers(model, list(constants)))
    else:
        head += "VALUES "
    one_row = "(" + ", ".join(["%s"] * len(names)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = head + ", ".join([one_row] * len(chunk)) + tail
            cursor.execute(sql, fixed + _prepared(chunk, preparers))
            if returning:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids


def update_rows(model, names: list[str], rows: list[tuple], *, batch_size: int = 1000) -> None:
    """UPDATE the `names` columns of each row by primary key (its last value)."""
    if not rows:
        return
    if _copies():
        _copy_update(model, names, rows)
        return
    quote = connection.ops.quote_name
    preparers = [*_preparers(model, names), None]
    assignments = ", ".join(f"{_column(model, name)} = %s" for name in names)
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote(model._meta.pk.column)} = %s"
    width = len(names) + 1
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            params = _prepared(rows[start : start + batch_size], preparers)
            cursor.executemany(sql, [params[i : i + width] for i in range(0, len(params), width)])


# --- PostgreSQL: COPY ---------------------------------------------------------------------------------

_temporary_tables = itertools.count()


def _copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    """COPY `rows` (tuples in `columns` order) into `table`; psycopg adapts each value by its type.

    Through the cursor's wrappers like any query, so that query counts (tests, the benchmark) and
    DEBUG's query log see it, with psycopg's errors turned into Django's.
    """
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"

    def copy_rows(sql, params, many, context):
        # psycopg's own cursor: Django's wrapper has no copy().
        with connection.wrap_database_errors, context["cursor"].cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    logged = cursor.debug_sql(statement) if hasattr(cursor, "debug_sql") else contextlib.nullcontext()
    with logged:
        cursor._execute_with_wrappers(statement, None, False, copy_rows)


def _adapted(model, names: list[str], rows: Iterable[tuple], extra: tuple = ()) -> Iterator[tuple]:
    """The rows, one at a time as COPY sends them, with `extra` values appended and JSON values wrapped
    for psycopg (it needs to be told a dict is JSON): never a second list of every row."""
    from psycopg.types.json import Jsonb

    json_columns = [
        i for i, name in enumerate(names) if model._meta.get_field(name).get_internal_type() == "JSONField"
    ]
    for row in rows:
        if extra:
            row = (*row, *extra)
        if json_columns:
            values = list(row)
            for i in json_columns:
                values[i] = None if values[i] is None else Jsonb(values[i])
            row = tuple(values)
        yield row


def _copy_insert(
    model, names: list[str], rows: list[tuple], *, returning: bool, extra: tuple = ()
) -> list[int]:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = [_column(model, name) for name in names]
    count = len(rows)
    rows = _adapted(model, names, rows, extra)
    with connection.cursor() as cursor:
        if not returning:
            _copy_rows(cursor, table, columns, rows)
            return []
        pk = model._meta.pk.column
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [model._meta.db_table, pk, count],
        )
        ids = [row[0] for row in cursor.fetchall()]
        _copy_rows(
            cursor,
            table,
            [quote(pk), *columns],
            ((pk_value, *row) for pk_value, row in zip(ids, rows, strict=False)),
        )
    return ids


def _copy_update(model, names: list[str], rows: list[tuple]) -> None:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    pk = quote(model._meta.pk.column)
    columns = [_column(model, name) for name in names]
    temporary = quote(f"bulk_update_{next(_temporary_tables)}")
    with connection.cursor() as cursor:
        # The same column types as the table; dropped with the transaction the bulk write runs in.
        cursor.execute(
            f"CREATE TEMPORARY TABLE {temporary} ON COMMIT DROP AS "
            f"SELECT {', '.join(columns)}, {pk} FROM {table} WITH NO DATA"
        )
        _copy_rows(cursor, temporary, [*columns, pk], _adapted(model, [*names, model._meta.pk.name], rows))
        assignments = ", ".join(f"{column} = source.{column}" for column in columns)
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {temporary} AS source WHERE {table}.{pk} = source.{pk}"
        )
        cursor.execute(f"DROP TABLE {temporary}")


# --- The change log's own statements --------------------------------------------------------------------


def reserve_numbers(model, *, key: int, count: int) -> int:
    """Reserve `count` numbers of the counter row `key` of `model` (its primary key and a `last` column),
    creating it at 0; returns the first. One statement, and the row stays locked until the transaction
    ends: the change log takes it last, so numbers are handed out in commit order."""
    table = connection.ops.quote_name(model._meta.db_table)
    key_column = connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, last) VALUES (%s, %s) "
            f"ON CONFLICT ({key_column}) DO UPDATE SET last = {table}.last + excluded.last "
            "RETURNING last",
            [key, count],
        )
        last = cursor.fetchone()[0]
    return last - count + 1


# A bulk write's "created" entries, built by the database from the contacts it just stored: json_object
# (SQLite) and jsonb_build_object (PostgreSQL) instead of a json.dumps and bound parameters per entry. An
# import creating 20,000 contacts on SQLite: the log's write took 0.21 s of CPU, now 0.11 s; the commit is
# back within a few per cent of its time without the log. Held to changelog.created by a property test.
def insert_snapshots(target, source, ids: list[int], *, first: int, fields, constants: dict) -> None:
    """One `target` row per `source` row of `ids` (in id order): `seq` numbered from `first`, its id,
    identifier code and customer, `after` = a JSON object of `fields`, and the `constants`."""
    if not ids:
        return
    quote = connection.ops.quote_name
    postgresql = connection.vendor == "postgresql"
    values = []
    for name in fields:
        column = quote(name)
        if name == "is_main" and not postgresql:
            column = f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"  # SQLite stores 0 or 1
        values += [f"'{name}'", column]
    builder = "jsonb_build_object" if postgresql else "json_object"
    names = ["seq", "contact_id", "external_id", "customer_id", "after", *constants]
    fixed = _typed_constants(target, constants, postgresql)
    head = (
        f"INSERT INTO {quote(target._meta.db_table)} ({', '.join(quote(n) for n in names)}) "
        f"SELECT %s + ROW_NUMBER() OVER (ORDER BY {quote('id')}) - 1, {quote('id')}, "
        f"{quote('external_id')}, {quote('customer_id')}, {builder}({', '.join(values)}), "
        f"{', '.join(fixed['sql'])} FROM {quote(source._meta.db_table)} WHERE "
    )
    chunk = len(ids) if postgresql else IDS_PER_STATEMENT
    with connection.cursor() as cursor:
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            where = (
                f"{quote('id')} = ANY(%s)"
                if postgresql
                else f"{quote('id')} IN ({', '.join(['%s'] * len(part))})"
            )
            params = [first + start, *fixed["params"], *([part] if postgresql else part)]
            cursor.execute(head + where, params)


def _typed_constants(model, values: dict, postgresql: bool) -> dict:
    """Each constant as a typed placeholder (PostgreSQL types an untyped one in a SELECT as text) and its
    database value."""
    sql, params = [], []
    for name, value in values.items():
        field = model._meta.get_field(name)
        sql.append(f"CAST(%s AS {field.db_type(connection)})" if postgresql else "%s")
        params.append(field.get_db_prep_save(value, connection) if value is not None else None)
    return {"sql": sql, "params": params}
