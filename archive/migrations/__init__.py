"""Alembic migrations of the archive schema (run through ``archive.db``)."""
