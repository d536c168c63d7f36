"""the card task_id an outbox row was offered to WeCom with (outbox_message.task_id)

WeCom answers 42014 for a task_id already used, and also for an empty, over-long or badly formed
one. The sender writes the task_id on the row before the call, so a later 42014 counts as
"already sent" only for a row whose own earlier attempt carried that very task_id. Existing
rows get none: a card resent after the upgrade that meets 42014 fails and is alerted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('task_id', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('task_id')
