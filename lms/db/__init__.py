"""Database plumbing shared by every app: the PostgreSQL backend with a cheap connection check."""
