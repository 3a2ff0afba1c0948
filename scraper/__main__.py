"""``python -m scraper`` runs the same CLI as the ``scraper`` command."""

from scraper.cli import main

if __name__ == "__main__":
    main()
