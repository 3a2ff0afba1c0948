"""Page sources behind one interface (FetchResult): polite HTTP, files, WARC/WET archives.

The WARC/WET reader is our own (``archive.py``) rather than warcio's iterator because a crawl
corpus must survive damage: a corrupt gzip member or a wrong Content-Length costs one record and
reading resumes at the next one, where warcio stops; warcio still checks our WARC output in tests.
"""
