"""Archive-scale extraction: WARC/WET files in parallel on Dask, one partition per input file.

``scraper extract --engine dask 'segments/*.warc.gz' -o out/`` (see
:mod:`scraper.distributed.dask_extract`).  Dask is an optional extra
(``pip install 'qa-scraper[dask]'``) and is imported only when a Dask run starts:
importing this package, or :mod:`scraper`, never loads it.
"""

from scraper.distributed.dask_extract import (
    DaskNotInstalled,
    ManifestMismatch,
    OutputBusy,
    run_dask_extract,
    run_local_extract,
)
from scraper.distributed.partition import process_input

__all__ = [
    "DaskNotInstalled",
    "ManifestMismatch",
    "OutputBusy",
    "process_input",
    "run_dask_extract",
    "run_local_extract",
]
