"""report indexes

A covering index for the mastery panel of the focal point's report: the graded answers of the
country's learners are read from the index alone (user, course, question, mark), without
visiting the table. It leads with user_id, so it replaces the index on user_id alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 19:40:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('question_responses', schema=None) as batch_op:
        batch_op.create_index('ix_question_responses_mastery', ['user_id', 'course_id', 'question_id', 'mark'], unique=False)
        batch_op.drop_index(batch_op.f('ix_question_responses_user_id'))


def downgrade():
    with op.batch_alter_table('question_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_responses_user_id'), ['user_id'], unique=False)
        batch_op.drop_index('ix_question_responses_mastery')
