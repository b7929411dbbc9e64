"""mastery totals

The graded answers of each country's learners, summed per course and question, for the
mastery panel of the focal point's report (kept up to date by app.services.mastery). The
upgrade fills it from the answers already given, so that the report is right at once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 22:09:09.737483

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mastery_totals',
    sa.Column('country_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.Integer(), nullable=False),
    sa.Column('earned', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['country_id'], ['countries.id'], name=op.f('fk_mastery_totals_country_id_countries')),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], name=op.f('fk_mastery_totals_course_id_courses')),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_mastery_totals_question_id_questions')),
    sa.PrimaryKeyConstraint('country_id', 'course_id', 'question_id', name=op.f('pk_mastery_totals'))
    )
    # Written out here rather than imported from app.services.mastery (totals_from_answers),
    # so that this revision keeps doing what it did when that code changes; a test checks
    # that the two agree.
    op.execute(
        "INSERT INTO mastery_totals (country_id, course_id, question_id, answers, earned) "
        "SELECT users.country_id, question_responses.course_id, question_responses.question_id, "
        "count(*), sum(question_responses.mark) "
        "FROM question_responses JOIN users ON users.id = question_responses.user_id "
        "WHERE users.role = 'learner' AND users.country_id IS NOT NULL "
        "GROUP BY users.country_id, question_responses.course_id, question_responses.question_id"
    )


def downgrade():
    op.drop_table('mastery_totals')
