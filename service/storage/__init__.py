"""Storage: engines and transactions, the SQL tables and their migrations, and reading a
project's stored events into arrays on each database (SQLite and PostgreSQL).
"""
