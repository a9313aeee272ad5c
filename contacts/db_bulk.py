"""The bulk writers: multi-row INSERTs and UPDATEs in raw SQL, the only SQL written by hand.

Django's bulk_create and bulk_update build the same statements but prepare every value through its
field in Python (bulk_create: 30 µs a row; bulk_update's CASE WHEN per row is quadratic on SQLite);
these take values already clean and convert only the columns that need it (dates, JSON), so a commit
of 100,000 contacts spends its time in the database, not in preparing values.
"""

import datetime
import functools

from django.db import connection


def _preparers(model, names: list[str]) -> list:
    """Per column: None (the driver takes the value as it is) or a function giving the database value."""
    preparers = []
    for name in names:
        field = model._meta.get_field(name)  # also finds `customer_id`
        internal = field.get_internal_type()
        if internal in ("DateTimeField", "JSONField", "DateField", "DecimalField"):
            preparers.append(functools.partial(field.get_db_prep_save, connection=connection))
        else:
            preparers.append(None)
    return preparers


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _prepared(rows: list[tuple], preparers: list) -> list:
    """Flat parameters; a datetime shared by every row (the import's `now`) is converted once."""
    converted: dict = {}
    params = []
    for row in rows:
        for prepare, value in zip(preparers, row, strict=False):
            if prepare is None:
                params.append(value)
            elif isinstance(value, datetime.datetime):
                if value not in converted:
                    converted[value] = prepare(value)
                params.append(converted[value])
            else:
                params.append(prepare(value))
    return params


def insert_rows(
    model, names: list[str], rows: list[tuple], *, batch_size: int = 1000, returning: bool = True
):
    """Multi-row INSERTs of `rows` (values in `names` order), batch by batch; returns the new ids in order."""
    if not rows:
        return []
    if returning and not connection.features.can_return_rows_from_bulk_insert:
        objs = [model(**dict(zip(names, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs, batch_size=batch_size)
        return [obj.pk for obj in objs]
    quote = connection.ops.quote_name
    preparers = _preparers(model, names)
    max_params = connection.features.max_query_params
    per_statement = min(batch_size, max_params // len(names)) if max_params else batch_size
    head = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(_column(model, n) for n in names)}) VALUES "
    )
    tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    one_row = "(" + ", ".join(["%s"] * len(names)) + ")"
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            cursor.execute(head + ", ".join([one_row] * len(chunk)) + tail, _prepared(chunk, preparers))
            if returning:
                ids.extend(row[0] for row in cursor.fetchall())
    return ids


def update_rows(model, names: list[str], rows: list[tuple], *, batch_size: int = 1000) -> None:
    """UPDATE each row by primary key (its last value), one executemany per batch."""
    if not rows:
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
