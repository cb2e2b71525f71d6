"""Alembic environment: migrations run on a connection handed in by ``hub.storage``, or,
under the stock ``alembic`` command (``alembic.ini``), on the hub's own database
(``hub.storage.schema.run_on_command_database``)."""

from alembic import context
from sqlalchemy.engine import Connection

from hub.storage.schema import run_on_command_database
from hub.storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    run_on_command_database(_run)
else:
    _run(connection)
