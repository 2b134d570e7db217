"""Django's PostgreSQL backend whose connection check costs a system call instead of a round trip.

With CONN_HEALTH_CHECKS, Django asks `is_usable()` once per request, before the request's first
query on a persistent connection. Django's own answer sends `SELECT 1`: a round trip of 120-160 µs
on every request, 7-12 % of the throughput of the hot paths. This check looks at the connection
instead. Between requests a connection is idle (autocommit, no transaction), and an idle PostgreSQL
connection receives nothing unless the server is leaving: a fast shutdown, `pg_terminate_backend`
or `idle_session_timeout` send a FATAL error and close the socket, and a crash or a killed backend
closes it. Either makes the socket readable, so a zero-timeout poll of it (about 2 µs) tells a dead
connection from a live one. Readable data may also be something harmless (a NOTIFY, a notice), so
a readable socket is decided by Django's `SELECT 1`, which reads what is there; so is a connection
that is not idle, where only a statement can tell.

What no check before the query can see stays as it was with `SELECT 1`: the server dying between the
check and the query, or a peer that vanished without closing (a partitioned network). The query then
raises OperationalError, the API answers 503 with Retry-After (lms.api.envelope), and Django's end of
request finds the connection broken (psycopg marks it BAD) and closes it, so the next request
connects afresh. Behind PgBouncer in transaction mode the socket is the client's side of the pooler,
which is the only connection this process holds: PgBouncer replaces its own server connections.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK:
            return False  # libpq already saw the connection fail
        if pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return super().is_usable()
        try:
            server_spoke = _readable(pgconn.socket)
        except (OSError, base.Database.Error):
            return False
        return super().is_usable() if server_spoke else True


def _readable(fd: int) -> bool:
    """Whether the socket has data or an end of stream waiting; never blocks (poll, unlike select, takes any fd)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))
