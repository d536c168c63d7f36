"""stored results per cycle (result_snapshot): written at publication, correction, closing

Cycles published before this revision have no stored results until
`flask --app bot cycle store-results YEAR` stores them (reason "backfill").

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 11:05:19.268982
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('result_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('publish', 'correct', 'close', 'backfill', name='results_reason', native_enum=False, length=32), nullable=False),
    sa.Column('stored_at', bot.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('correction_id', sa.Integer(), nullable=True),
    sa.Column('rubric', sa.String(length=64), nullable=False),
    sa.Column('mentors', sa.JSON(), nullable=False),
    sa.Column('colleges', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['person.id'], name=op.f('fk_result_snapshot_actor_id_person')),
    sa.ForeignKeyConstraint(['correction_id'], ['correction.id'], name=op.f('fk_result_snapshot_correction_id_correction')),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycle.id'], name=op.f('fk_result_snapshot_cycle_id_assessment_cycle')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_result_snapshot'))
    )
    with op.batch_alter_table('result_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_snapshot_cycle_id'), ['cycle_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('result_snapshot', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_snapshot_cycle_id'))

    op.drop_table('result_snapshot')
