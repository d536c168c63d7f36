"""a contact keeps the topic its content names (record.activity_type), so that career guidance
counts for the item the rubric's ``[records.topics]`` names

Until now only a group activity kept a type (the one its title names). A contact now keeps the
topic its title or content names (考研, 简历…, the packaged rubric's words), read like an
activity's type by ``Rubric.items_for``. Existing contacts get theirs here; a downgrade clears
them (they were empty before).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

record = sa.table(
    'record',
    sa.column('id', sa.Integer),
    sa.column('kind', sa.String),
    sa.column('title', sa.String),
    sa.column('note', sa.Text),
    sa.column('activity_type', sa.String),
)


def upgrade() -> None:
    from scoring import load_rubric

    rubric = load_rubric()
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(record.c.id, record.c.title, record.c.note).where(record.c.kind == 'contact')
    ).all()
    for record_id, title, note in rows:
        topic = rubric.record_type('contact', f"{title or ''} {note or ''}")
        if topic is not None:
            connection.execute(
                record.update().where(record.c.id == record_id).values(activity_type=topic)
            )


def downgrade() -> None:
    op.get_bind().execute(
        record.update().where(record.c.kind == 'contact').values(activity_type=None)
    )
