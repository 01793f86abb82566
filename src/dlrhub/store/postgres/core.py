"""The PostgreSQL connection pool (asyncpg), JSON codecs and migrations."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson

from dlrhub.core import errors
from dlrhub.store import migrations, rows

BACKEND: rows.Backend = "postgres"
#: The channel `NOTIFY` uses when new callbacks are due, so dispatchers need not poll hard.
CALLBACKS_CHANNEL = "dlrhub_callbacks"
_MIGRATION_LOCK = 7_210_001
#: Every pooled connection starts in READ COMMITTED, whatever the database's or role's default: the store's
#: statements count on it (a one-statement debit rechecks the balance on the row's newest version after waiting;
#: an event's advisory lock is seen by the next statement of its transaction). Under REPEATABLE READ or
#: SERIALIZABLE those would fail with serialization errors, or read a snapshot older than the lock.
SESSION_SETTINGS = {"default_transaction_isolation": "read committed"}
#: Fills `migrations.CREATE_MAP`'s table from a migration's prelude.
FILL_MAP = "INSERT INTO migration_map (old, new) VALUES ($1, $2)"
#: A migration's applied-at time is the database's own: migrating takes no clock.
RECORD_MIGRATION = "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, now())"

#: Each column of a table with its type, as a cast takes it (`numeric(20,4)`, `timestamp with time zone`).
COLUMN_TYPES = (
    "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
    " WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped"
)

#: The migrations table in the connection's search path, or NULL before the first migration.
HAS_MIGRATIONS_TABLE = "SELECT to_regclass('schema_migrations')"


def affected(status: str) -> int:
    """The row count of an asyncpg command status such as `UPDATE 3` or `INSERT 0 12` (0 when it names none)."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _encode_json(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset of a released connection, after asyncpg rolls back a transaction left open: nothing more.

    asyncpg's default runs `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release,
    a round trip per store call. The store leaves no session state on a pooled connection to reset: its advisory
    locks are transaction-scoped, its cursors live in transactions, it sets no session variables, and it LISTENs
    on a connection of its own (`PostgresDispatch.wait_for_callbacks`).
    """


async def _init(conn: asyncpg.Connection) -> None:
    for name in ("jsonb", "json"):
        await conn.set_type_codec(name, encoder=_encode_json, decoder=orjson.loads, schema="pg_catalog")


def insert_sql(table: str, row: dict[str, Any], suffix: str = "") -> tuple[Any, ...]:
    """`(sql, *values)` inserting `row` into `table`: spread it into `conn.execute(*...)`."""
    cols = ", ".join(row)
    marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
    return (f"INSERT INTO {table} ({cols}) VALUES ({marks}) {suffix}", *row.values())


class PostgresCore:
    """Owns the pool; the concern mixins use `pool()`."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.url = url
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        #: Small pools of connections with planner settings of their own (`settings_pool`), by name.
        self._settings_pools: dict[str, asyncpg.Pool] = {}
        self._column_types: dict[str, dict[str, str]] = {}

    async def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._pool_lock:  # the first calls may come together: they share one pool
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self.url,
                        min_size=self._min_size,
                        max_size=self._max_size,
                        init=_init,
                        reset=_keep_session,
                        server_settings=SESSION_SETTINGS,
                    )
        return self._pool

    async def settings_pool(self, name: str, server_settings: dict[str, str]) -> asyncpg.Pool:
        """A pool of at most two connections that start with `server_settings` (named `name`, made on first use):
        statements that must plan with settings of their own run on it in one round trip, where a `SET LOCAL`
        would take a transaction and three more."""
        found = self._settings_pools.get(name)
        if found is None:
            async with self._pool_lock:
                found = self._settings_pools.get(name)
                if found is None:
                    found = await asyncpg.create_pool(
                        self.url,
                        min_size=1,
                        max_size=2,
                        init=_init,
                        reset=_keep_session,
                        server_settings={**SESSION_SETTINGS, **server_settings},
                    )
                    self._settings_pools[name] = found
        return found

    async def column_types(self, conn: asyncpg.Connection, table: str) -> dict[str, str]:
        """`table`'s column types (read once, and again after `migrate`): the casts of array parameters."""
        types = self._column_types.get(table)
        if types is None:
            types = {r["attname"]: r["type"] for r in await conn.fetch(COLUMN_TYPES, table)}
            self._column_types[table] = types
        return types

    async def migrate(self) -> list[str]:
        self._column_types.clear()
        pool = await self.pool()
        try:
            return await self._migrate(pool)
        except asyncpg.InsufficientPrivilegeError as exc:
            role, database = await pool.fetchrow("SELECT current_user, current_database()")
            raise errors.ConfigError(
                f"cannot migrate: {exc} (role {role} must own database {database}, or hold CREATE on its"
                f" schema public: `ALTER DATABASE {database} OWNER TO {role}` as a superuser; a new one:"
                f" `createdb -O {role} {database}`)"
            ) from None

    async def _migrate(self, pool: asyncpg.Pool) -> list[str]:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL)"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            applied = []
            for name, sql in migrations.load(BACKEND):
                if name in done:
                    continue
                prelude = migrations.PRELUDES.get(name)
                if prelude is not None:
                    pairs = prelude.compute(await conn.fetch(prelude.query))
                    await conn.execute(migrations.CREATE_MAP)
                    await conn.executemany(FILL_MAP, pairs)
                await conn.execute(sql)
                await conn.execute(RECORD_MIGRATION, name)
                applied.append(name)
            return applied

    async def schema_state(self) -> migrations.SchemaState:
        pool = await self.pool()
        async with pool.acquire() as conn:
            if await conn.fetchval(HAS_MIGRATIONS_TABLE) is None:
                return migrations.state(BACKEND, [])
            names = [r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")]
        return migrations.state(BACKEND, names)

    async def ping(self) -> None:
        pool = await self.pool()
        await pool.fetchval("SELECT 1")

    async def close(self) -> None:
        pools, self._settings_pools = list(self._settings_pools.values()), {}
        for pool in pools:
            await pool.close()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
