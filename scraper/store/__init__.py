"""Where results are kept: record outputs (JSON Lines, CSV, SQLite; ``outputs.py`` for crawls,
``textfile.py`` for ``scraper extract -o``), atomic file replacement, the WARC writer, and the
crawl state stores (``state.py`` for SQLite, ``state_postgres.py`` for a shared PostgreSQL,
``state_sql.py`` for what the two share).
"""
