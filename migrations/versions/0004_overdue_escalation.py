"""overdue escalations made (overdue_escalation): once per cycle, step and unit

The outbox key alone kept an overdue step's notice to a college head from repeating only
until the sent row was pruned. Nothing is backfilled: the outbox keys are unchanged, so an
escalation whose row is still in the outbox is recorded at the next run, without a message.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 22:20:28.196770
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.core.db


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('overdue_escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('escalated_at', bot.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['assessment_cycle.id'], name=op.f('fk_overdue_escalation_cycle_id_assessment_cycle'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_overdue_escalation_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overdue_escalation')),
    sa.UniqueConstraint('cycle_id', 'step', 'unit_id', name=op.f('uq_overdue_escalation_cycle_id_step_unit_id'))
    )



def downgrade() -> None:
    op.drop_table('overdue_escalation')

