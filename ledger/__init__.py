"""The database: models, sessions, repositories.  The only package that imports SQLAlchemy."""
