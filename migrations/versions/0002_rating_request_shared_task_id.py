"""rating requests share a card task id (one card to many participants); sent_at

A request that lapsed without a card (weekly limit) has sent_at NULL.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 06:37:41.627899
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rating_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', bot.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_rating_request_task_id'), type_='unique')
        batch_op.create_index(batch_op.f('ix_rating_request_task_id'), ['task_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rating_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_request_task_id'))
        batch_op.create_unique_constraint(batch_op.f('uq_rating_request_task_id'), ['task_id'])
        batch_op.drop_column('sent_at')

