"""The head revision `storage/migrate.py` checks a database against without loading Alembic is
the head of the migrations Alembic would run, and each migration's file is named by its
revision."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from livehook.storage.migrate import alembic_config, head_revision


def test_head_revision_is_alembic_s_head() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [head_revision()]


def test_each_migration_file_is_named_by_its_revision() -> None:
    for script in ScriptDirectory.from_config(alembic_config()).walk_revisions():
        assert script.path.rpartition("/")[2].startswith(f"{script.revision}_"), script.path
