"""a correction may add a score that did not exist (correction.old_tenths nullable)

A late college's workbook, accepted by the office after publication, adds scores; each is
recorded as a correction with its reason, and such a correction has no old score.

Revision ID: 0008
Revises: 0007_wecom3
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007_wecom3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.alter_column('old_tenths', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute('UPDATE correction SET old_tenths = 0 WHERE old_tenths IS NULL')
    with op.batch_alter_table('correction', schema=None) as batch_op:
        batch_op.alter_column('old_tenths', existing_type=sa.Integer(), nullable=False)
