"""Page sources behind one interface (FetchResult): polite HTTP, local files; web archives are
read by :mod:`scraper.formats.warc` into the same results.

The WARC/WET reader is our own (``scraper/formats/warc.py``) rather than warcio's iterator because a crawl
corpus must survive damage: a corrupt gzip member or a wrong Content-Length costs one record and
reading resumes at the next one, where warcio stops; warcio still checks our WARC output in tests.
"""
