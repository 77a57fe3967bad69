"""SQLite results store: evaluation runs, per-image statistics as arrays, and predicted label maps.

One database file (default ``results/gald_viz.sqlite``) in WAL mode, so the app reads while a job
writes; predicted trainId maps are PNG files beside it. The store keeps and returns numbers as numpy
arrays and does no metric arithmetic: reductions are :mod:`gald_viz.metrics.reduce`'s, and
:mod:`gald_viz.metrics.runs` builds Table V and per-image tables of a stored run.

Modules: :mod:`~gald_viz.store.schema` (tables and version), :mod:`~gald_viz.store.connection`
(opening, transactions), :mod:`~gald_viz.store.writes` and :mod:`~gald_viz.store.reads`,
:mod:`~gald_viz.store.files` (atomic PNGs, job lock), :mod:`~gald_viz.store.arrays` (array ⇄ BLOB),
:mod:`~gald_viz.store.spec` (run identity, stored image), :mod:`~gald_viz.store.errors`,
:mod:`~gald_viz.store.shards` (a run split over shard stores) and :mod:`~gald_viz.store.merge`.

Every database problem a user can cause (a locked, read-only, corrupt or foreign file) raises
:class:`StoreError`, a ``ValueError`` naming the file, so the app can catch it and carry on.
"""

from gald_viz.store.connection import DEFAULT_DB
from gald_viz.store.errors import StoreError
from gald_viz.store.files import prediction_filename
from gald_viz.store.merge import Merge, MergedRun
from gald_viz.store.reads import Reads
from gald_viz.store.schema import SCHEMA_VERSION
from gald_viz.store.shards import Shard, shard_files
from gald_viz.store.spec import ImageResult, RunSpec
from gald_viz.store.writes import Writes

__all__ = [
    "DEFAULT_DB",
    "SCHEMA_VERSION",
    "ImageResult",
    "MergedRun",
    "ResultsStore",
    "RunSpec",
    "Shard",
    "StoreError",
    "prediction_filename",
    "shard_files",
]


class ResultsStore(Reads, Writes, Merge):
    """The results database and its predictions folder.

    Args:
        path: the SQLite file; created (with its folder) unless ``read_only``.
        read_only: open with ``mode=ro``: nothing is created or written (for viewers).
        timeout: seconds to wait for another writer's lock before raising ``StoreError(reason="locked")``.

    The object is thread-safe (one connection behind a lock), so the app may share one instance.
    """
