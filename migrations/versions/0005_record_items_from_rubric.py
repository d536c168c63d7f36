"""a record stores what happened, not the items it counts for (record.items dropped)

Which items a record evidences is now the rubric's ``[records]`` table, asked when records
are read (``Rubric.items_for(kind, activity_type)``). The stored ids were always that mapping
of the record's kind and activity type, so nothing is lost; a downgrade writes them back
from the packaged default rubric.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 22:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_column('items')


def downgrade() -> None:
    from scoring import load_rubric

    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('items', sa.JSON(), nullable=False, server_default='[]'))
    record = sa.table(
        'record',
        sa.column('kind', sa.String),
        sa.column('activity_type', sa.String),
        sa.column('items', sa.JSON),
    )
    rubric = load_rubric()
    connection = op.get_bind()
    pairs = connection.execute(sa.select(record.c.kind, record.c.activity_type).distinct())
    for kind, activity in pairs.all():
        activity_matches = (
            record.c.activity_type.is_(None)
            if activity is None
            else record.c.activity_type == activity
        )
        connection.execute(
            record.update()
            .where(record.c.kind == kind, activity_matches)
            .values(items=list(rubric.items_for(kind, activity)))
        )
