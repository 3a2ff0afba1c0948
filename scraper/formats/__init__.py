"""Readers of the file formats pages arrive in: web archives (WARC/WET) and sitemaps.

Parsers only: they turn bytes into fetch results or URLs, bounded and safe against
hostile input, and make no requests.  The fetchers and the crawler use them.
"""
