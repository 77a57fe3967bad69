"""Merging shard stores (:mod:`gald_viz.store.shards`) into the main store, row for row.

The merge copies each run's ``runs`` row, its ``images`` rows, their ``image_arrays`` BLOBs and the
``pair_arrays`` rows as they are (no array is decoded), so the main store holds what a one-process job
would have written: the same run id and identity, the same per-image rows and bytes, the images at their
source positions. Everything is checked before anything is written, and the rows go in one
transaction, so a refused or killed merge leaves the main store as it was. Refused, naming the file:
a file that is not a shard store, the same file twice, shards of different shard counts, two files
holding the same shard, a missing shard, files holding different runs (named by what differs in their
identities), a shard whose job has not finished, and a missing prediction PNG.

Images the main store already holds for a run (an earlier one-process job, or an earlier merge) are
kept and the shards' copies are not used, as a resumed job keeps its stored images.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gald_viz.data.images import write_bytes_atomic
from gald_viz.store.errors import StoreError
from gald_viz.store.shards import Shard, Shards


@dataclass(frozen=True)
class MergedRun:
    """One run merged: its id, shard count, the images copied and those the main store already held."""

    run_id: str
    shards: int
    copied: int
    kept: int
    pair_with: str | None


@dataclass
class _Part:
    """One opened shard store."""

    path: Path
    store: Shards
    shard: Shard
    runs: dict[str, str | None]


def _refuse(path: Path, problem: str) -> StoreError:
    return StoreError(path, problem, reason="shards", what="shard store")


class Merge(Shards):
    """The merging half of :class:`~gald_viz.store.ResultsStore`, called on the main store."""

    def merge_shards(
        self, paths: Sequence[str | Path], run_ids: Sequence[str] | None = None
    ) -> list[MergedRun]:
        """Merge the runs of the shard stores ``paths`` (every shard of them, K = 0 … N-1) into this store.

        Args:
            paths: the N shard store files.
            run_ids: merge only these runs (default: every run the shard files hold; each file must hold
                the same runs).

        Returns:
            One :class:`MergedRun` per run, in the order the shard jobs started them.

        Raises:
            StoreError: ``reason="shards"`` for the refusals listed in the module docstring.
        """
        if self.has_shard_table():
            raise StoreError(self.path, "is a shard store; merge shards into the main store", reason="shards")
        with contextlib.ExitStack() as stack:
            parts = self._open_parts(paths, stack)
            wanted = self._check_parts(parts, run_ids)
            for run_id in wanted:
                stack.enter_context(self.run_lock(run_id))
            have = {run_id: self.done_images(run_id) for run_id in wanted}
            for run_id in wanted:
                self._copy_predictions(parts, run_id, have[run_id])
            self._merge_rows(parts, wanted, have)
            return [
                MergedRun(
                    run_id,
                    len(parts),
                    sum(len(p.store.done_images(run_id) - have[run_id]) for p in parts),
                    len(have[run_id]),
                    parts[0].runs[run_id],
                )
                for run_id in wanted
            ]

    def _open_parts(self, paths: Sequence[str | Path], stack: contextlib.ExitStack) -> list[_Part]:
        from gald_viz.store import ResultsStore

        if not paths:
            raise StoreError(self.path, "has no shard stores to merge (none given)", reason="shards")
        seen: dict[Path, Path] = {}
        parts = []
        for given in map(Path, paths):
            real = given.resolve()
            if real == self.path.resolve():
                raise _refuse(
                    given, "is the main store itself; give the shard files (DB.shard-K-of-N.sqlite)"
                )
            if real in seen:
                raise _refuse(given, f"is given twice (also as {seen[real]})")
            seen[real] = given
            store = stack.enter_context(ResultsStore(given, read_only=True))
            shard, runs = store.shard_runs()
            parts.append(_Part(given, store, shard, runs))
        first = parts[0]
        by_index: dict[int, _Part] = {}
        for part in parts:
            if part.shard.count != first.shard.count:
                raise _refuse(
                    part.path,
                    f"is shard {part.shard} but {first.path} is shard {first.shard}: shards of different"
                    " shard counts do not merge",
                )
            if part.shard.index in by_index:
                raise _refuse(
                    part.path, f"holds shard {part.shard}, as does {by_index[part.shard.index].path}"
                )
            by_index[part.shard.index] = part
        missing = [k for k in range(first.shard.count) if k not in by_index]
        if missing:
            expected = ", ".join(Shard(k, first.shard.count).path(self.path).name for k in missing)
            raise _refuse(
                first.path,
                f"is shard {first.shard}, but {_shards_missing(missing, first.shard.count)} ({expected});"
                f" evaluate it with --shard, then merge all {first.shard.count}",
            )
        return [by_index[k] for k in range(first.shard.count)]

    def _check_parts(self, parts: list[_Part], run_ids: Sequence[str] | None) -> list[str]:
        """The runs to merge, after checking that every shard holds each of them completely."""
        first = parts[0]
        if run_ids is None:
            for part in parts[1:]:
                only_first = [r for r in first.runs if r not in part.runs]
                only_here = [r for r in part.runs if r not in first.runs]
                if only_first and only_here:
                    raise _refuse(
                        part.path,
                        f"holds run {only_here[0]} but {first.path} holds run {only_first[0]}: shards of"
                        f" different runs ({_difference(first, only_first[0], part, only_here[0])})",
                    )
            wanted = list(dict.fromkeys(r for part in parts for r in part.runs))
        else:
            wanted = list(run_ids)
        for run_id in wanted:
            for part in parts:
                if run_id not in part.runs:
                    holder = next((p for p in parts if run_id in p.runs), None)
                    if holder is None:
                        raise _refuse(first.path, f"and the other shard stores hold no run {run_id}")
                    raise _refuse(
                        part.path,
                        f"(shard {part.shard}) holds no shard of run {run_id}, which {holder.path} holds;"
                        " evaluate that shard of the run, then merge",
                    )
                _check_complete(part, run_id)
        return wanted

    def _copy_predictions(self, parts: list[_Part], run_id: str, have: set[str]) -> None:
        """PNGs of shards kept in another folder go to this store's folder, under the same relative path."""
        for part in parts:
            if part.store.root.resolve() == self.root.resolve():
                continue
            for image, png in part.store._rows(
                "SELECT image, prediction_png FROM images WHERE run_id = ?", (run_id,)
            ):
                if image not in have:
                    try:
                        write_bytes_atomic(self.root / png, (part.store.root / png).read_bytes())
                    except OSError as exc:
                        raise StoreError(
                            self.root / png, f"cannot be written ({exc})", reason="io", what="prediction"
                        ) from exc

    def _merge_rows(self, parts: list[_Part], wanted: list[str], have: dict[str, set[str]]) -> None:
        columns = [row[0] for row in self._rows("SELECT name FROM pragma_table_info('runs')")]
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._transaction() as con:
            for run_id in wanted:
                rows = [
                    dict(
                        zip(
                            columns,
                            p.store._rows("SELECT * FROM runs WHERE run_id = ?", (run_id,))[0],
                            strict=True,
                        )
                    )
                    for p in parts
                ]
                if con.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone():
                    con.execute(
                        "UPDATE runs SET status = 'finished', error = NULL, finished_at = ? WHERE run_id = ?",
                        (now, run_id),
                    )
                else:
                    row = rows[0] | {
                        "device": ", ".join(sorted({r["device"] for r in rows})),
                        "status": "finished",
                        "error": None,
                        "created_at": min(r["created_at"] for r in rows),
                        "finished_at": now,
                    }
                    con.execute(
                        f"INSERT INTO runs VALUES ({', '.join('?' * len(columns))})",
                        [row[c] for c in columns],
                    )
                for part in parts:
                    images = [
                        row
                        for row in part.store._rows(
                            "SELECT * FROM images WHERE run_id = ? ORDER BY position", (run_id,)
                        )
                        if row[1] not in have[run_id]
                    ]
                    con.executemany("INSERT INTO images VALUES (?, ?, ?, ?, ?, ?, ?)", images)
                    new = {row[1] for row in images}
                    con.executemany(
                        "INSERT INTO image_arrays VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            row
                            for row in part.store._rows(
                                "SELECT * FROM image_arrays WHERE run_id = ?", (run_id,)
                            )
                            if row[1] in new
                        ),
                    )
            marks = ", ".join("?" * len(wanted))
            pairs = [
                row
                for part in parts
                for row in part.store._rows(
                    f"SELECT * FROM pair_arrays WHERE run_ga IN ({marks}) OR run_gald IN ({marks})",
                    (*wanted, *wanted),
                )
            ]
            runs = sorted({row[0] for row in pairs} | {row[1] for row in pairs})
            stored = set(
                con.execute(
                    f"SELECT run_id, image FROM images WHERE run_id IN ({', '.join('?' * len(runs))})", runs
                )
            )
            con.executemany(
                "INSERT OR IGNORE INTO pair_arrays VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row for row in pairs if (row[0], row[2]) in stored and (row[1], row[2]) in stored),
            )


def _check_complete(part: _Part, run_id: str) -> None:
    """Refuse a shard whose job has not finished: its images must be exactly its positions."""
    ((status, n_planned),) = part.store._rows(
        "SELECT status, n_planned FROM runs WHERE run_id = ?", (run_id,)
    )
    positions = {
        row[0] for row in part.store._rows("SELECT position FROM images WHERE run_id = ?", (run_id,))
    }
    expected = set(part.shard.positions(n_planned))
    if status != "finished" or positions != expected:
        raise _refuse(
            part.path,
            f"holds {len(positions & expected)} of the {len(expected)} images of shard {part.shard} of run"
            f" {run_id} (status {status}); resume that shard (rerun its command), then merge",
        )
    for image, png in part.store._rows(
        "SELECT image, prediction_png FROM images WHERE run_id = ?", (run_id,)
    ):
        if not (part.store.root / png).is_file():
            raise _refuse(
                part.path, f"run {run_id}, image {image!r}: its prediction {part.store.root / png} is missing"
            )


def _shards_missing(missing: list[int], count: int) -> str:
    """``shard 1 of 2 is missing`` or ``shards 1, 3 of 4 are missing``."""
    if len(missing) == 1:
        return f"shard {missing[0]} of {count} is missing"
    return f"shards {', '.join(map(str, missing))} of {count} are missing"


def _difference(a: _Part, run_a: str, b: _Part, run_b: str) -> str:
    """What differs between two runs' identities, as ``key: A vs B`` (long values shortened)."""
    ia, ib = (
        json.loads(p.store._rows("SELECT identity FROM runs WHERE run_id = ?", (r,))[0][0])
        for p, r in ((a, run_a), (b, run_b))
    )
    keys = [k for k in sorted(set(ia) | set(ib)) if ia.get(k) != ib.get(k)]

    def short(value) -> str:
        text = json.dumps(value)
        return text if len(text) <= 40 else text[:37] + "..."

    return "; ".join(f"{k}: {short(ia.get(k))} vs {short(ib.get(k))}" for k in keys[:3]) or "same identity"
