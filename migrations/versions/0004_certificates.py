"""certificates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 16:56:06.088257

"""
from alembic import op
import sqlalchemy as sa
from app.models.base import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('signing_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('public_key_multibase', sa.String(length=128), nullable=False),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.Column('retired_at', UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_keys')),
    sa.UniqueConstraint('key_id', name=op.f('uq_signing_keys_key_id')),
    sa.UniqueConstraint('public_key_multibase', name=op.f('uq_signing_keys_public_key_multibase'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('learner_name', sa.String(length=120), nullable=False))
        batch_op.add_column(sa.Column('course_title', sa.String(length=200), nullable=False))
        batch_op.add_column(sa.Column('course_version', sa.Integer(), nullable=False))
        batch_op.add_column(sa.Column('hours', sa.Double(), nullable=False))
        batch_op.add_column(sa.Column('issuer_name', sa.String(length=200), nullable=False))
        batch_op.add_column(sa.Column('credential', sa.JSON(), nullable=False))
        batch_op.add_column(sa.Column('replaces_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_certificates_replaces_id_certificates'), 'certificates', ['replaces_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_certificates_revoked_by_id_users'), 'users', ['revoked_by_id'], ['id'])
        batch_op.create_check_constraint(
            'revocation_reason_known',
            "revocation_reason IS NULL OR revocation_reason IN "
            "('issued_in_error', 'superseded', 'identity', 'misconduct', 'other')",
        )
        batch_op.create_check_constraint('status_index_not_negative', 'status_index >= 0')
        batch_op.drop_constraint(batch_op.f('uq_certificates_user_id_course_id_version_id'), type_='unique')
        batch_op.create_index(
            'uq_certificates_one_live', ['user_id', 'course_id', 'version_id'], unique=True,
            postgresql_where=sa.text('revoked_at IS NULL'), sqlite_where=sa.text('revoked_at IS NULL'),
        )



def downgrade():
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('uq_certificates_one_live')
        batch_op.create_unique_constraint(batch_op.f('uq_certificates_user_id_course_id_version_id'), ['user_id', 'course_id', 'version_id'])
        batch_op.drop_constraint(batch_op.f('ck_certificates_status_index_not_negative'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_certificates_revocation_reason_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_certificates_revoked_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_certificates_replaces_id_certificates'), type_='foreignkey')
        batch_op.drop_column('replaces_id')
        batch_op.drop_column('credential')
        batch_op.drop_column('issuer_name')
        batch_op.drop_column('hours')
        batch_op.drop_column('course_version')
        batch_op.drop_column('course_title')
        batch_op.drop_column('learner_name')
        batch_op.drop_column('revoked_by_id')

    op.drop_table('signing_keys')
