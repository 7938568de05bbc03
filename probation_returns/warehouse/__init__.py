"""The warehouse (SQLAlchemy 2 models, Alembic migrations, sessions)."""
