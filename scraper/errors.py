"""The project's exceptions, one tree so callers can catch as broadly as they need.

    ScraperError
    ├── ConfigError           a setting, option, pattern or name that cannot be used (CLI: exit 2)
    │   ├── SettingsError     a setting name or value (-s, --config, keywords to scraper.crawl)
    │   ├── PatternError      a regular expression that does not compile (--include, --url-pattern)
    │   ├── UnknownSiteError  a site adapter name that does not exist
    │   ├── InvalidSeedError  a seed URL that is not an http(s) URL (crawl: before anything is fetched)
    │   ├── SitePluginError   a site plugin that cannot be used (skipped with a PluginWarning)
    │   └── NoDiscoveryError  --discover for a site that has no sitemap or search API
    ├── MissingExtraError     an optional part is not installed (the message names the pip extra)
    │   └── DaskNotInstalled  --engine dask without Dask (or Parquet without pyarrow)
    ├── InputError            an input could not be read at all (missing file, not UTF-8, permission)
    ├── ExtractionError       the bytes were read but hold no Q&A page
    │   ├── EmptyInputError   nothing but whitespace
    │   ├── BinaryInputError  not text (an image, an archive, a PDF ...)
    │   ├── NotAQAPageError   text, but no question with answers in it
    │   └── ExtractorCrashError  the extractor itself failed on this page (a bug: please report it)
    ├── ExtractWorkerError    a crawl's extraction worker gave no result for a page (base: it raised a bug)
    │   ├── ExtractTimeoutError  it ran past EXTRACT_TIMEOUT and was stopped
    │   └── ExtractWorkerDiedError  the worker process died (killed, out of memory)
    ├── FetchRefusedError     a fetch that must not happen (raised inside the fetcher, recorded as a failure)
    │   └── BlockedAddressError  a host name resolved to a non-public address
    ├── DecompressionError    compressed bytes that do not decompress (corrupt, or a coding not installed)
    │   └── DecompressedTooLargeError  they expand past the reader's size limit (a likely bomb)
    ├── SitemapError          a body that is not a sitemap that can be read safely
    ├── OutputError           an output cannot be opened, written or finished (also an OSError)
    │   ├── OutputConflictError  the file holds bytes this state did not write
    │   ├── OutputWriteError  a write failed (full disk, closed pipe); the file is back at a whole record
    │   ├── OutputBusy        another run writes the same output directory
    │   ├── ManifestMismatch  an output directory made with other settings
    │   └── WarcWriterError   the WARC file cannot be appended to
    └── StateError            the crawl's state
        ├── CrawlLockedError  another crawl holds the lock (CLI: exit 3)
        ├── StateDamagedError the file is not a state this code can trust
        └── StateStoreError   the state database failed (lost connection, full disk)

Every message says what was wrong and, where it helps, what to do about it.  The
CLI prints one line for each (``scraper: MESSAGE``) and exits 2 for a
ConfigError, 3 for CrawlLockedError and 1 for the rest; nothing a user can cause
ends in a traceback.  Some classes also derive from the builtin they replaced
(ValueError, OSError, ImportError), so code that caught those still works.
"""

from __future__ import annotations

__all__ = [
    "BinaryInputError",
    "BlockedAddressError",
    "ConfigError",
    "CrawlLockedError",
    "DaskNotInstalled",
    "DecompressedTooLargeError",
    "DecompressionError",
    "EmptyInputError",
    "ExtractTimeoutError",
    "ExtractWorkerDiedError",
    "ExtractWorkerError",
    "ExtractionError",
    "ExtractorCrashError",
    "FetchRefusedError",
    "InputError",
    "InvalidSeedError",
    "ManifestMismatch",
    "MissingExtraError",
    "NoDiscoveryError",
    "NotAQAPageError",
    "OutputBusy",
    "OutputConflictError",
    "OutputError",
    "OutputWriteError",
    "PatternError",
    "ScraperError",
    "SettingsError",
    "SitePluginError",
    "SitemapError",
    "StateDamagedError",
    "StateError",
    "StateStoreError",
    "UnknownSiteError",
    "WarcWriterError",
    "exit_code",
]


class ScraperError(Exception):
    """Base of every error this package raises on purpose."""


# --- what the user asked for -------------------------------------------------------------


class ConfigError(ScraperError, ValueError):
    """A setting, option, pattern or name that cannot be used; the message names it."""


class SettingsError(ConfigError):
    """A setting name or value that cannot be used; the message names it."""


class PatternError(ConfigError):
    """A regular expression that does not compile; the message names the option and the error."""


class UnknownSiteError(ConfigError):
    """A site adapter name that does not exist; the message lists the known ones."""


class InvalidSeedError(ConfigError):
    """A seed URL given to a crawl (argument, ``--urls`` file, ``urls=``) that cannot be crawled.

    Why an error and not a skipped URL: a seed is what the user typed, and a crawl that
    quietly drops all of them fetches nothing and looks like success.  The message names
    every bad seed (up to a few) and where it came from.
    """


class SitePluginError(ConfigError):
    """A site plugin (an entry point in ``scraper.sites``) that cannot be loaded or read.

    Why a ConfigError: an installed package is part of how the run was set up, like a
    setting.  The registry never lets it escape: the plugin is skipped with a
    :class:`scraper.sites.plugins.PluginWarning` naming it, and other sites still work.
    """


class NoDiscoveryError(ConfigError):
    """``--discover`` (or ``discover=``) for a site without a sitemap or search API to read."""


class MissingExtraError(ScraperError, ImportError):
    """An optional part is not installed; the message says which ``pip install 'qa-scraper[...]'``."""


class DaskNotInstalled(MissingExtraError):
    """``--engine dask`` without Dask (or Parquet without pyarrow) installed."""


# --- inputs and extraction ---------------------------------------------------------------


class InputError(ScraperError):
    """An input could not be read (a URL file that is not UTF-8, a missing file)."""


class ExtractionError(ScraperError):
    """The input was read but no page record could be made from it."""


class EmptyInputError(ExtractionError):
    """The input is empty or whitespace only."""


class BinaryInputError(ExtractionError):
    """The input is binary data, not a text or HTML page."""


class NotAQAPageError(ExtractionError):
    """The input is text but shows no question with an answer section."""


class ExtractorCrashError(ExtractionError):
    """The extractor raised something unforeseen on this page.

    Why an ExtractionError: a bug met on one page must cost that page, like any page that
    gives no record, and never a batch or a crawl.  The message names the exception; the
    original is chained as ``__cause__`` for a bug report.
    """


class ExtractWorkerError(ScraperError):
    """A worker process gave no result for one page; ``kind`` is the page's failure kind.

    Why not an ExtractionError: the page may be fine.  What failed is the time or
    the process spent on it, so the crawl records a failure (due again after
    ``RECRAWL_INTERVAL``) rather than "this page holds no Q&A".
    """

    kind = "internal_error"
    """The page's failure kind; the base class is the worker raising something unforeseen (a bug)."""


class ExtractTimeoutError(ExtractWorkerError):
    """Extraction of one page ran past ``EXTRACT_TIMEOUT``; its worker was killed and replaced."""

    kind = "extract_timeout"


class ExtractWorkerDiedError(ExtractWorkerError):
    """The worker process extracting a page died (a signal, the out-of-memory killer, a crash in C code)."""

    kind = "extract_crashed"


# --- fetching ----------------------------------------------------------------------------


class FetchRefusedError(ScraperError):
    """A request the fetcher must not make; it never leaves the fetcher, which records a failure."""


class BlockedAddressError(FetchRefusedError):
    """A host name resolved to an address the request may not connect to (raised before connecting)."""

    def __init__(self, host: str, port: int, blocked: list[tuple[str, str]]) -> None:
        self.host = host
        self.port = port
        self.blocked = blocked
        """(address, why) for each refused address."""
        shown = ", ".join(f"{address} ({why})" for address, why in blocked[:4])
        super().__init__(f"{host} resolves to {shown}, not a public address")


class SitemapError(ScraperError):
    """The body is not a sitemap that can be read safely; the message says why."""


# --- outputs -----------------------------------------------------------------------------


class OutputError(ScraperError, OSError):
    """An output could not be opened, used or finished; an OSError too, as it was before this class existed."""


class OutputConflictError(OutputError):
    """The output file holds bytes this state did not write, or lacks bytes it did; nothing was changed."""


class OutputWriteError(OutputError):
    """Writing the output failed (a full disk, a closed pipe); a file is back at its last whole record."""


class OutputBusy(OutputError):
    """Another run is writing to the same output directory."""


class ManifestMismatch(OutputError, ValueError):
    """The output directory holds a run made with other settings (format, URL pattern, site)."""


class WarcWriterError(OutputError):
    """The WARC file cannot be opened or appended to (a missing directory, not a gzip WARC file, in use)."""


# --- crawl state -------------------------------------------------------------------------


class StateError(ScraperError):
    """The crawl's state cannot be used."""


class CrawlLockedError(StateError):
    """Another crawl holds the state's lock."""


class StateDamagedError(StateError):
    """The state file is not a crawl state this code can trust: damaged, emptied, or another program's."""


class StateStoreError(StateError):
    """The crawl's state database failed (a lost connection, a server restart, a full disk)."""


def exit_code(exc: ScraperError) -> int:
    """The CLI's exit code for an error: 2 for what was asked wrongly (as click's usage errors), 3 locked, else 1."""
    if isinstance(exc, ConfigError):
        return 2
    if isinstance(exc, CrawlLockedError):
        return 3
    return 1


# --- compressed data ---------------------------------------------------------------------


class DecompressionError(ScraperError):
    """Compressed bytes that cannot be decompressed; the message is the decoder's own reason.

    Why one class for every coding: each reader (fetcher, sitemap, archive, extractor) maps
    it to its own failure, and none of them cares whether zlib or brotli said no.
    """


class DecompressedTooLargeError(DecompressionError):
    """The bytes expand past the size limit the reader set: refused before they fill memory.

    A subclass, not a sibling, so a reader that treats every undecodable input alike
    catches one class; a fetcher tells it apart to report ``too_large``.
    """
