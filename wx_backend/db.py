"""Database binding: one DatabaseProxy, bound in the application factory.

SQLite (a file under var/, WAL) by default; PostgreSQL when DATABASE_URL says so. Each feature keeps its
models in its own module and lists that module in MODEL_MODULES so that ``create_tables`` finds it.
"""
from __future__ import annotations

import contextlib
import importlib
import logging
from pathlib import Path

import peewee
from playhouse.db_url import connect
from playhouse.pool import PooledSqliteDatabase

log = logging.getLogger(__name__)

database = peewee.DatabaseProxy()

# Modules that define models; each feature adds its own line.
MODEL_MODULES = [
    "wx_backend.merchants.models",
    "wx_backend.merchants.signin",
    "wx_backend.wechat.models",
    "wx_backend.registry.models",
    "wx_backend.billing.models",
    "wx_backend.api.ratelimit",
    "wx_backend.pipeline.challenge",
    "wx_backend.verification.models",
    "wx_backend.callbacks.models",
]

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 10000,   # ms; gunicorn workers and the job worker share the file
    "synchronous": "normal",
}


class DatabaseUnavailable(Exception):
    """The configured database cannot be reached or opened."""


class BaseModel(peewee.Model):
    class Meta:
        database = database
        legacy_table_names = False


# Pooled connections (playhouse.pool): each request checks one out and back in (app factory), instead of
# opening a connection per request: on SQLite that was an open plus four PRAGMAs per call, on PostgreSQL a
# new server backend per call. No cap (as before, one connection per busy thread); PostgreSQL connections
# idle for STALE_S are closed rather than reused.
STALE_S = 300


def _pooled_url(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and scheme in ("postgres", "postgresql"):
        return f"{scheme}+pool://{rest}"
    return url


def open_database(url: str) -> peewee.Database:
    """A peewee Database for a URL (sqlite:///path or postgresql://...), with pooled connections."""
    try:
        if url.startswith("sqlite:///"):
            path = Path(url[len("sqlite:///"):])
            if str(path) == ":memory:":       # one database per connection: a pool would hand out others
                return peewee.SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False,
                                             timeout=10)
            path.parent.mkdir(parents=True, exist_ok=True)
            return PooledSqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False,
                                        max_connections=None)
        if url.startswith(("postgres://", "postgresql://")):
            return connect(_pooled_url(url), max_connections=None, stale_timeout=STALE_S)
        return connect(url)
    except (peewee.PeeweeException, OSError, RuntimeError) as exc:
        raise DatabaseUnavailable(f"cannot open database: {exc}") from exc


def bind(db: peewee.Database) -> None:
    database.initialize(db)


def all_models() -> list[type[BaseModel]]:
    """Every model of the modules in MODEL_MODULES that exist, in dependency order."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    seen: list[type[BaseModel]] = []

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub not in seen and not getattr(sub._meta, "abstract", False):
                seen.append(sub)
            walk(sub)

    walk(BaseModel)
    return peewee.sort_models(seen)


def create_tables() -> list[str]:
    """Create missing tables and add the columns newer code added to existing ones (idempotent).

    Only additive changes are made: a new column must be nullable or have a default, so that rows
    written by the previous version stay valid. Returns the ``table.column`` names added.
    """
    with database.connection_context():
        models = all_models()
        database.create_tables(models, safe=True)
        return _add_missing_columns(models)


def _add_missing_columns(models: list[type[BaseModel]]) -> list[str]:
    from playhouse.migrate import SchemaMigrator, migrate

    migrator = SchemaMigrator.from_database(database.obj)
    added = []
    for model in models:
        table = model._meta.table_name
        present = {c.name for c in database.get_columns(table)}
        for field in model._meta.sorted_fields:
            if field.column_name in present:
                continue
            if not field.null and field.default is None:
                raise RuntimeError(f"{table}.{field.column_name} is new, NOT NULL and has no default: "
                                   "write a migration for it")
            migrate(migrator.add_column(table, field.column_name, field))
            added.append(f"{table}.{field.column_name}")
    return added


class Compiled:
    """A query compiled to SQL once per kind of database, then run with new values.

    peewee compiles a query each time it runs; for a model of forty columns that is most of a
    sub-millisecond lookup, and the Cloud API's credential lookup runs on every call. ``build`` returns
    the query for the arguments it is given (marker strings on the first run); ``rows(*args)`` runs the
    kept SQL with the arguments in the markers' places, as ``model.raw`` (model instances, no joins).
    Markers are strings: for comparisons with text and integer fields (peewee passes a string it cannot
    convert to an integer through unchanged); anything else is refused when first compiled.
    """

    def __init__(self, build, arity: int):
        self._build = build
        self._marks = [f"\x00arg{i}\x00" for i in range(arity)]
        self._sql: dict[type, tuple] = {}

    def rows(self, *args):
        kind = type(database.obj)
        entry = self._sql.get(kind)
        if entry is None:
            query = self._build(*self._marks)
            sql, params = query.sql()
            slots = [self._marks.index(p) if isinstance(p, str) and p in self._marks else None for p in params]
            if sorted(s for s in slots if s is not None) != list(range(len(self._marks))):
                raise TypeError("a marker did not reach the SQL's parameters unchanged: not for this field type")
            entry = self._sql[kind] = (query.model, sql, params, slots)
        model, sql, params, slots = entry
        return model.raw(sql, *[p if slot is None else args[slot] for p, slot in zip(params, slots)])


def ping() -> str:
    """'ok' or a short reason, for /healthz."""
    try:
        database.execute_sql("SELECT 1").fetchone()
        return "ok"
    except peewee.PeeweeException as exc:
        return f"error: {type(exc).__name__}"


def write_atomic():
    """A transaction that takes the write lock at BEGIN on SQLite (BEGIN IMMEDIATE).

    For read-then-write critical sections (quota, rate windows): a deferred SQLite transaction that read
    first can fail to upgrade when another worker wrote meanwhile; IMMEDIATE waits (busy_timeout) instead.
    Elsewhere (PostgreSQL) a plain atomic(); the callers' conditional UPDATEs and unique keys do the rest.
    """
    real = database.obj
    if isinstance(real, peewee.SqliteDatabase) and not real.in_transaction():
        return real.atomic(lock_type="IMMEDIATE")
    return database.atomic()


@contextlib.contextmanager
def quick_atomic():
    """``write_atomic`` for a short transaction whose loss in a crash of the database server costs little
    (a free call's challenge and usage record): on PostgreSQL its commit does not wait for the WAL flush
    (``synchronous_commit`` off for this transaction alone), so a crash of the server can lose the last
    fraction of a second of such commits (about 3 x wal_writer_delay: 0.6 s by default), whole
    transactions, never part of one. SQLite (WAL, synchronous=normal) makes the same trade for every
    commit already. Never for charges or quota: those commit with ``write_atomic``.
    """
    with write_atomic():
        if isinstance(database.obj, peewee.PostgresqlDatabase):
            database.execute_sql("SET LOCAL synchronous_commit TO OFF")
        yield
