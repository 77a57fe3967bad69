"""Shard stores: one evaluation run split over N processes, each writing its own SQLite file.

Shard K of N (``Shard(K, N)``) evaluates the images at source positions K, K + N, K + 2N, … (strided, so
each shard gets images from the whole source and the shards finish at about the same time) into its own
file beside the main store, ``DB.shard-K-of-N.sqlite`` for ``DB.sqlite`` (:meth:`Shard.path`). SQLite
is not safe on network file systems when several machines write one file, so no two shards ever write
the same file; predicted PNGs go to the main store's ``predictions/`` folder, one file per image, so a
shard's rows already name the PNG the merged store will name.

A shard file is an ordinary results database (the same schema version) with one more table,
``shard_runs``: the shard (K, N) it holds and, per run, the ``pair_with`` its job was given, so the
merge (:mod:`gald_viz.store.merge`) can refuse files of other shard counts and pair runs as the
one-process job would have. The run rows in it are the whole run's (identity, ``n_planned``), so the
run id of a shard is the run id of the one-process run.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

from gald_viz.store.connection import Connection
from gald_viz.store.errors import StoreError

SHARD_TABLE = """
CREATE TABLE IF NOT EXISTS shard_runs (
    run_id TEXT PRIMARY KEY REFERENCES runs (run_id),
    shard INTEGER NOT NULL,
    shards INTEGER NOT NULL,
    pair_with TEXT
)
"""

_NAME = re.compile(r"\.shard-(\d+)-of-(\d+)")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: the images at positions ``index``, ``index + count``, …

    >>> Shard.parse("1/4").positions(10)
    range(1, 10, 4)
    >>> Shard(1, 4).path(Path("results/gald_viz.sqlite")).as_posix()
    'results/gald_viz.shard-1-of-4.sqlite'
    """

    index: int
    count: int

    def __post_init__(self) -> None:
        if not (isinstance(self.index, int) and isinstance(self.count, int)):
            raise ValueError(f"shard {self.index}/{self.count}: give whole numbers K/N")
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need N >= 1 and 0 <= K < N")

    @classmethod
    def parse(cls, text: str, flag: str = "--shard") -> Shard:
        """``"K/N"`` (K counted from 0) as a Shard; a bad text raises ValueError naming ``flag``."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
        if match is None:
            raise ValueError(f"{flag} {text}: give K/N, shard K (from 0) of N, e.g. 0/4")
        try:
            return cls(int(match[1]), int(match[2]))
        except ValueError as exc:
            raise ValueError(f"{flag} {text}: {str(exc).split(': ', 1)[1]}") from exc

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def positions(self, n: int) -> range:
        """The source positions of this shard among ``n`` images."""
        return range(self.index, n, self.count)

    def path(self, main: str | Path) -> Path:
        """This shard's store file beside the main store ``main``."""
        main = Path(main)
        return main.with_name(f"{main.stem}.shard-{self.index}-of-{self.count}{main.suffix}")


def shard_files(main: str | Path) -> list[Path]:
    """The shard store files beside ``main`` (``STEM.shard-K-of-N.SUFFIX``), sorted by N then K."""
    main = Path(main)
    found = []
    for path in main.parent.glob(f"{glob.escape(main.stem)}.shard-*-of-*{glob.escape(main.suffix)}"):
        match = _NAME.fullmatch(path.name.removesuffix(main.suffix), len(main.stem))
        if match and path.is_file():
            found.append((int(match[2]), int(match[1]), path))
    return [path for _, _, path in sorted(found)]


class Shards(Connection):
    """The shard half of :class:`~gald_viz.store.ResultsStore`: what a shard file records about itself."""

    def has_shard_table(self) -> bool:
        """True for a shard store (a file written by a ``--shard`` or torchrun job)."""
        rows = self._rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'shard_runs'")
        return bool(rows)

    def record_shard(self, run_id: str, shard: Shard, pair_with: str | None) -> None:
        """Mark this file as shard ``shard`` and record the run's ``pair_with`` (the run row must exist).

        Raises:
            StoreError: the file already holds another shard (a shard file holds one K/N).
        """
        with self._transaction() as con:
            con.execute(SHARD_TABLE)
            other = con.execute(
                "SELECT shard, shards FROM shard_runs WHERE shard != ? OR shards != ? LIMIT 1",
                (shard.index, shard.count),
            ).fetchone()
            if other is not None:
                raise StoreError(
                    self.path,
                    f"holds shard {other[0]}/{other[1]}, not {shard}: a shard store holds one shard"
                    f" (shard {shard} goes to {shard.path(self.path).name} beside the main store)",
                    reason="schema",
                    what="shard store",
                )
            con.execute(
                "INSERT INTO shard_runs VALUES (?, ?, ?, ?)"
                " ON CONFLICT (run_id) DO UPDATE SET pair_with = excluded.pair_with",
                (run_id, shard.index, shard.count, pair_with),
            )

    def shard_runs(self) -> tuple[Shard, dict[str, str | None]]:
        """The shard this file holds and its runs (run id → ``pair_with``), in the order they started.

        Raises:
            StoreError: the file is not a shard store, or records more than one shard.
        """
        if not self.has_shard_table():
            raise StoreError(
                self.path,
                "is not a shard store (it has no shard_runs table): it was not written by a --shard"
                " or torchrun job",
                reason="schema",
                what="file",
            )
        rows = self._rows(
            "SELECT s.run_id, s.shard, s.shards, s.pair_with FROM shard_runs AS s"
            " JOIN runs AS r ON r.run_id = s.run_id ORDER BY r.created_at, s.rowid"
        )
        kinds = sorted({(shard, shards) for _, shard, shards, _ in rows})
        if len(kinds) != 1:
            found = ", ".join(f"{k}/{n}" for k, n in kinds) or "none"
            raise StoreError(
                self.path, f"records shards {found}; a shard store holds one shard", reason="corrupt"
            )
        return Shard(*kinds[0]), {run_id: pair_with for run_id, _, _, pair_with in rows}
