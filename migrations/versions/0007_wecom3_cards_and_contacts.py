"""cards closed at their deadline, WeChat-plugin users (outbox_message.response_code,
person.wechat_plugin)

``outbox_message.response_code``: the code message/send answered for an interactive card; the
card of each recipient who has not answered is updated to "已截止" with it when its window ends
(WeCom accepts the code once, within 72 hours of the send). ``person.wechat_plugin``: the
roster marks people who read WeCom through WeChat (微信插件), who see no template cards and are
sent a textcard linking the rating page instead.

Revision ID: 0007_wecom3
Revises: 0006
Create Date: 2026-12-07 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_wecom3'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('response_code', sa.String(length=255), nullable=True))
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('wechat_plugin', sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_column('wechat_plugin')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('response_code')
