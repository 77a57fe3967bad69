"""Sharded evaluation: one run's images split over N processes (torchrun ranks or separate jobs).

``torchrun --nproc-per-node N -m gald_viz.evaluate model …`` (and ``… mechanisms …``): rank r, of
``WORLD_SIZE`` N, evaluates shard r/N, the images at positions r, r + N, r + 2N, … (strided, so every
rank gets images from the whole source), into its own store file beside the main store
(``DB.shard-r-of-N.sqlite``, :mod:`gald_viz.store.shards`: SQLite is not safe when several machines
write one file on a network file system). Each rank runs on GPU ``LOCAL_RANK`` when CUDA is available
(NCCL process group), else on the CPU (Gloo). The group is set up from torchrun's environment
(``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), so it works across nodes
with torchrun's rendezvous. After a barrier, rank 0 merges the N shard stores into the main store
(:meth:`gald_viz.store.ResultsStore.merge_shards`) and pairs the merged runs with the runs already there
(four-way counts, as the one-process job would have), then prints the summary.

Without torchrun, ``--shard K/N`` runs one shard as its own job (N cluster jobs, say), and
``python -m gald_viz.evaluate merge --db DB`` merges them. A killed shard resumes its own file: rerun
its command (under torchrun, rerun the whole command: finished shards have nothing left to do). The
merged store holds the rows a one-process run writes, row for row; the shard files are kept (delete
them once merged).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gald_viz.store import MergedRun, ResultsStore, Shard, shard_files

__all__ = ["BARRIER_TIMEOUT", "Sharding", "ShardingError", "merge", "pair_merged", "under_torchrun"]

BARRIER_TIMEOUT = dt.timedelta(hours=24)
"""How long a rank that finished its shard waits at the barrier for the slowest rank (torch's default
is 10 minutes for NCCL, shorter than one shard of a large evaluation). A rank that fails ends the whole
group through torchrun, so nobody waits this long for a dead rank."""

_TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


class ShardingError(ValueError):
    """A sharded run that cannot be set up as asked (bad environment, device or flags)."""


def _env_int(name: str) -> int:
    text = os.environ.get(name)
    if text is None:
        raise ShardingError(
            f"torchrun environment: {name} is not set (torchrun sets {', '.join(_TORCHRUN_ENV)})"
        )
    try:
        return int(text)
    except ValueError:
        raise ShardingError(f"torchrun environment: {name}={text!r} is not a whole number") from None


def under_torchrun() -> bool:
    """True when this process is a torchrun worker (``RANK`` and ``WORLD_SIZE`` are set)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def _rank_device(device: str, local_rank: int) -> str:
    """The device of this rank: GPU ``LOCAL_RANK`` for ``auto`` (with CUDA) and ``cuda``."""
    import torch

    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        return "cpu"
    if device not in ("auto", "cuda"):
        raise ShardingError(
            f"--device {device} under torchrun: each rank takes GPU LOCAL_RANK; give --device cuda, auto"
            " or cpu"
        )
    if not torch.cuda.is_available():
        raise ShardingError("--device cuda under torchrun: torch sees no CUDA GPU")
    if local_rank >= torch.cuda.device_count():
        raise ShardingError(
            f"torchrun environment: LOCAL_RANK={local_rank}, but this machine has"
            f" {torch.cuda.device_count()} CUDA GPUs (give --nproc-per-node at most that)"
        )
    return f"cuda:{local_rank}"


@dataclass
class Sharding:
    """How this process takes part in a run: alone, as one ``--shard`` job, or as one torchrun rank.

    Use as a context manager around the jobs (a torchrun rank joins its process group there), then
    call :meth:`finish`.

    Attributes:
        shard: this process's shard (None: one process evaluates everything).
        device: the device this process evaluates on.
        torchrun: True for a torchrun rank (rank 0 merges after the barrier).
    """

    shard: Shard | None = None
    device: str = "auto"
    torchrun: bool = False

    @classmethod
    def from_args(cls, shard: str | None, device: str) -> Sharding:
        """From the ``--shard K/N`` flag (or None) and ``--device``, and torchrun's environment."""
        if not under_torchrun():
            return cls(None if shard is None else Shard.parse(shard), device)
        if shard is not None:
            raise ShardingError(f"--shard {shard} under torchrun: torchrun shards by rank; drop --shard")
        rank, world, local = (_env_int(name) for name in _TORCHRUN_ENV)
        try:
            me = Shard(rank, world)
        except ValueError as exc:
            raise ShardingError(f"torchrun environment RANK={rank}, WORLD_SIZE={world}: {exc}") from exc
        return cls(me, _rank_device(device, local), torchrun=True)

    @property
    def progress(self) -> bool:
        """Whether this process shows a progress bar (torchrun: rank 0 only)."""
        return not self.torchrun or self.shard.index == 0

    @property
    def merges(self) -> bool:
        """Whether this process ends with the results in the main store (alone, or torchrun rank 0)."""
        return self.shard is None or (self.torchrun and self.shard.index == 0)

    def store_path(self, db: str | os.PathLike) -> Path:
        """Where this process writes: the main store, or its shard's file beside it."""
        return Path(db) if self.shard is None else self.shard.path(db)

    def __enter__(self) -> Sharding:
        if self.torchrun:
            import torch
            import torch.distributed as dist

            if self.device.startswith("cuda"):
                torch.cuda.set_device(self.device)
                dist.init_process_group("nccl", timeout=BARRIER_TIMEOUT, device_id=torch.device(self.device))
            else:
                dist.init_process_group("gloo", timeout=BARRIER_TIMEOUT)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.torchrun:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()

    def finish(self, db: str | os.PathLike, run_ids: Sequence[str]) -> bool:
        """After the jobs: a torchrun rank waits for all ranks, and rank 0 merges ``run_ids``.

        Returns:
            True where the runs are now complete in the main store ``db`` (:attr:`merges`).
        """
        if self.torchrun:
            import torch.distributed as dist

            if self.device.startswith("cuda"):
                dist.barrier(device_ids=[int(self.device.split(":")[1])])
            else:
                dist.barrier()
            if self.merges:
                paths = [Shard(k, self.shard.count).path(db) for k in range(self.shard.count)]
                merge(db, paths, run_ids)
        return self.merges

    def note(self, db: str | os.PathLike) -> str:
        """What a ``--shard`` job tells its user: where its rows are and how to merge them."""
        path = self.store_path(db)
        with ResultsStore(path, read_only=True) as store:
            runs = ", ".join(f"run {r} ({len(store.done_images(r))} images)" for r in store.shard_runs()[1])
        return (
            f"shard {self.shard}: {runs} stored in {path}. When all {self.shard.count} shards are done:"
            f" python -m gald_viz.evaluate merge --db {db}"
        )


def merge(
    db: str | os.PathLike, shards: Sequence[str | os.PathLike] = (), run_ids: Sequence[str] | None = None
) -> list[MergedRun]:
    """Merge shard stores into the main store ``db`` and pair the merged runs there.

    Args:
        db: the main store.
        shards: the shard store files (default: every ``DB.shard-K-of-N`` file beside ``db``).
        run_ids: only these runs (default: every run of the shards).
    """
    paths = [Path(p) for p in shards] or shard_files(db)
    if not paths:
        name = Shard(0, 2).path(db).name.replace("0-of-2", "K-of-N")
        raise ShardingError(f"results database {db}: no shard stores given, and no {name} beside it")
    with ResultsStore(db) as store:
        merged = store.merge_shards(paths, run_ids)
        for run in merged:
            pair_merged(store, run.run_id, run.pair_with)
    return merged


def pair_merged(store: ResultsStore, run_id: str, pair_with: str | None = None) -> None:
    """Store the pair arrays (four-way counts) of a merged run with its partner runs in ``store``.

    The one-process job pairs a run with every run of the other kind on the same data (or with
    ``pair_with``); the shards could pair only with the runs in their own files. The labels come from
    the run's data spec, opened only when some pair lacks rows.
    """
    from gald_viz import jobs
    from gald_viz.data.sources import fingerprint, open_source
    from gald_viz.mechanisms.plan import MechanismPlan

    run = store.run(run_id)
    identity = run["identity"]
    pairs = jobs._pairs(store, run_id, pair_with)
    if not any(store.fourway_missing(*pair) for pair in pairs):
        return
    plan = MechanismPlan.from_identity(identity["mechanisms"]) if "mechanisms" in identity else None
    source = open_source(run["data_spec"], limit=identity["data_limit"])
    if fingerprint(source) != identity["data_fingerprint"]:
        raise jobs.JobError(
            f"data {run['data_spec']}: its files changed since run {run_id} was evaluated; the four-way"
            " counts against its partner runs cannot be computed from them"
        )
    plans = jobs._pair_plans(store, pairs, plan)
    with store.run_lock(run_id):
        jobs._catch_up_fourway(store, run_id, pairs, source, len(run["class_names"]), plans)
