"""learning

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 16:49:06.778320

"""
from alembic import op
import sqlalchemy as sa
from app.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('question_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('mark', sa.Double(), nullable=False),
    sa.Column('answered_at', UTCDateTime(), nullable=False),
    sa.CheckConstraint('mark BETWEEN 0 AND 1', name=op.f('ck_question_responses_mark_fraction')),
    sa.ForeignKeyConstraint(['attempt_id'], ['quiz_attempts.id'], name=op.f('fk_question_responses_attempt_id_quiz_attempts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_question_responses_course_id_courses')),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_question_responses_question_id_questions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_question_responses_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_question_responses')),
    sa.UniqueConstraint('attempt_id', 'question_id', name=op.f('uq_question_responses_attempt_id_question_id'))
    )
    with op.batch_alter_table('question_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_question_responses_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_question_responses_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answers_saved_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('submitted_late', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index('ix_quiz_attempts_passed', ['course_id', 'user_id', 'quiz_key', 'passed'], unique=False)
        batch_op.create_index(
            'uq_quiz_attempts_one_open', ['user_id', 'course_id', 'quiz_key'], unique=True,
            postgresql_where=sa.text('submitted_at IS NULL'), sqlite_where=sa.text('submitted_at IS NULL'),
        )



def downgrade():
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index('uq_quiz_attempts_one_open')
        batch_op.drop_index('ix_quiz_attempts_passed')
        batch_op.drop_column('submitted_late')
        batch_op.drop_column('answers_saved_at')

    with op.batch_alter_table('question_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_responses_user_id'))
        batch_op.drop_index(batch_op.f('ix_question_responses_question_id'))

    op.drop_table('question_responses')
