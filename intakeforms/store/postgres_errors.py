"""What a PostgreSQL failure means for whoever runs the service, and the fix.

libpq reports a failed connection without an SQLSTATE, so those are told
apart by its (English, stable for decades) wording; errors the server sends
are told apart by their SQLSTATE.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping

__all__ = ["describe", "explain", "where"]


def explain(
    sqlstate: str | None, said: str, params: Mapping[str, object], busy_timeout: float
) -> str:
    """The advice for an error with ``sqlstate`` whose message is ``said``."""
    user, host, port, database = where(params)
    at = f"{host}:{port}"
    by_state = {
        "28P01": _login(user),
        "28000": _login(user),
        "3D000": _no_database(database),
        "42501": (
            f"user {user} lacks a privilege it needs; let it create tables in the schema "
            "once (GRANT CREATE ON SCHEMA public TO …, or open the store once as the "
            "owner) and use them (GRANT SELECT, INSERT, UPDATE, DELETE)"
        ),
        "55P03": (
            f"another transaction kept a row locked for more than {busy_timeout:g} s; retry, "
            "look for a long transaction in pg_stat_activity, or raise ?timeout=SECONDS "
            "in INTAKE_STORE"
        ),
        "53300": (
            "the server has no free connection slots; raise max_connections on the "
            "server, or lower ?pool_size= in INTAKE_STORE of each process"
        ),
        "53100": f"the disk of the server at {at} is full; free some space there",
        "25006": (
            "the server is a read-only replica (or in read-only mode); point "
            "INTAKE_STORE at the primary"
        ),
        "42P01": (
            "the intakeforms tables are missing (dropped after the store opened?); "
            "restart the service to create them again"
        ),
    }
    if sqlstate in by_state:
        return by_state[sqlstate]
    if sqlstate is not None and sqlstate.startswith("57P"):
        return (
            f"the server at {at} is shutting down, starting or restarting; retry in "
            "a moment, and check its log if it lasts"
        )
    if sqlstate is not None and sqlstate.startswith("40"):
        return "a concurrent transaction conflicted with this one; retry"
    return _by_wording(said, user, host, port, database)


def _by_wording(said: str, user: str, host: str, port: str, database: str) -> str:
    at = f"{host}:{port}"
    if "failed to resolve host" in said or "could not translate host name" in said:
        return f"the host name {host} cannot be resolved; fix the host in INTAKE_STORE"
    if "Connection refused" in said or "No such file or directory" in said:
        return (
            f"nothing accepts connections at {at}; start PostgreSQL there, make it "
            "listen on that address (listen_addresses, port), or fix the host and "
            "port in INTAKE_STORE"
        )
    if "timeout expired" in said or "timed out" in said:
        return (
            f"the server at {at} did not answer in time; check that it runs and that "
            "no firewall drops the connection (or raise ?connect_timeout=SECONDS)"
        )
    if "password authentication failed" in said or "no password supplied" in said:
        return _login(user)
    if "no pg_hba.conf entry" in said:
        return (
            f"the server's pg_hba.conf does not let user {user} connect to database "
            f"{database} from this host; add a line for it and reload the server"
        )
    if 'role "' in said and "does not exist" in said:
        return f"there is no user {user} on the server; create it (createuser {user})"
    if 'database "' in said and "does not exist" in said:
        return _no_database(database)
    if "SSL" in said or "certificate" in said:
        return "the TLS connection failed; check sslmode and the certificates"
    if "server closed the connection" in said or "consuming input failed" in said:
        return (
            f"the connection to the server at {at} was lost (a restart? a network "
            "cut?); check that PostgreSQL runs, then retry"
        )
    if "connection" in said:
        return f"the connection to {at} failed; check that PostgreSQL runs there"
    return "the database failed"


def _login(user: str) -> str:
    return (
        f"the server refused the login of user {user}; check the user and password "
        "in INTAKE_STORE (or ~/.pgpass) and the server's pg_hba.conf"
    )


def _no_database(database: str) -> str:
    return (
        f"there is no database {database} on the server; create it (createdb "
        f"{database}) or fix the database name in INTAKE_STORE"
    )


def where(params: Mapping[str, object]) -> tuple[str, str, str, str]:
    """(user, host, port, database) as libpq will resolve them, for messages."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no user name in the environment or passwd
        login = "(your login name)"
    user = str(params.get("user") or os.environ.get("PGUSER") or login)
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
    database = str(params.get("dbname") or os.environ.get("PGDATABASE") or user)
    return user, host, port, database


def describe(params: Mapping[str, object]) -> str:
    """``postgresql://user@host:port/database``, never with the password."""
    user, host, port, database = where(params)
    if "," in host or "/" in host:  # several hosts, or a Unix socket folder
        return f"postgresql://{user}@/{database}?host={host}&port={port}"
    return f"postgresql://{user}@{host}:{port}/{database}"
