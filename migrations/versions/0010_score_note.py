"""a line naming what earned a bonus item (item_score.note): the competition or the paper

E1 and E2 are entered as achieved or not (是/否) with a line naming the competition or paper;
the line is kept beside the score. Existing scores get none.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('item_score', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('item_score', schema=None) as batch_op:
        batch_op.drop_column('note')
