"""Every column is classified for privacy, and the README's table is the classification's."""
from pathlib import Path

import sqlalchemy as sa

from portal.extensions import db
from portal.privacy import classification

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_column_of_every_table_is_classified(app):
    problems = classification.unclassified(db.metadata)
    assert not problems, "Unclassified for privacy (SPEC §11):\n- " + "\n- ".join(problems)


def test_every_keep_says_why():
    for table, entry in classification.TABLES.items():
        for name, column in entry.columns.items():
            assert column.kind in (classification.EXPORT, classification.ERASE,
                                   classification.PSEUDONYMISE, classification.KEEP), (table, name)
            if column.kind == classification.KEEP:
                assert column.why, f"{table}.{name} is kept: say why in portal/privacy/classification.py"


def test_the_readme_table_is_generated_from_the_classification():
    text = README.read_text(encoding="utf-8")
    assert classification.readme_table() in text, (
        "README.md's 'What Portal keeps, and for how long' table differs from the classification: "
        "paste the output of `flask --app wsgi privacy table` between its markers")


def test_a_missing_column_is_named_with_what_to_add(app):
    metadata = sa.MetaData()
    sa.Table("users", metadata, sa.Column("id", sa.Integer), sa.Column("shoe_size", sa.Integer))
    sa.Table("gadgets", metadata, sa.Column("id", sa.Integer))
    problems = "\n".join(classification.unclassified(metadata))
    assert "users.shoe_size" in problems and "portal/privacy/classification.py" in problems
    assert "TABLES['gadgets'] = Table(" in problems
