"""The store: database engines and sessions, the tables, the Alembic migrations, attachment
files and the signed links to them. Imports only the leaves (clock, parts) and pure packages."""
