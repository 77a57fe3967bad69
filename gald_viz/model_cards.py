"""Model cards for the bundled checkpoints, rendered from their metadata and stored evaluation runs.

Every number on a card comes from a file: architecture, parameters, training command, iterations, time
and device from the checkpoint's safetensors metadata (written by :mod:`gald_viz.train`); SynthCity val
mIoU and G-SCNN boundary F at 3/5/9/12 px from the finished evaluation run of *that* checkpoint (matched
by sha256) in the results store; the paper's figures from :mod:`gald_viz.published` (Cityscapes val,
ResNet-50 for Table I, ResNet-101 for Table V).

``python -m gald_viz.model_cards [--db results/gald_viz.sqlite] [--readme gald_viz/bundled/README.md]``
rewrites only the block between the ``cards:begin`` / ``cards:end`` markers, so hand-written notes
around it stay. Earlier training stages are listed while their files (the ``--init`` paths, e.g. under
``runs/``) still exist; the evaluation runs must be in ``--db``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from safetensors import safe_open

from gald_viz import published
from gald_viz.checkpoints import BUNDLED_DIR, write_default_pair
from gald_viz.model_evidence import (
    EVIDENCE_DATA,
    EvidenceError,
    default_pair,
    load_reports,
    render_evidence,
)

#: Bundled models, in table order.
BUNDLED = ("fcn", "aspp", "aspp_ldv1", "aspp_ldv2", "cgnl_ldv1")
#: The cards' evaluation: the evidence's unseen scenes, every one of them.
EVAL_DATA, EVAL_LIMIT = EVIDENCE_DATA, 100
#: Issue 14's floors for the GA and GALD models on unseen scenes: mIoU, and every class's IoU.
FLOOR_MIOU, FLOOR_CLASS_IOU = 0.65, 0.20
BEGIN, END = "<!-- cards:begin -->", "<!-- cards:end -->"
#: The source tree the bundled models were trained in: relative ``--init`` paths start there.
SOURCE_ROOT = Path(__file__).resolve().parent.parent

#: Table I row (ResNet-50) and Table V row (ResNet-101) of the same GA/LD arrangement; None: not published.
PUBLISHED_ROWS: dict[str, tuple[str, str | None]] = {
    "fcn": ("FCN baseline", None),
    "aspp": ("+ASPP", None),
    "aspp_ldv1": ("+ASPP+LDv1", "GALD (LDv1)"),
    "aspp_ldv2": ("+ASPP+LDv2", "GALD (LDv2)"),
    "cgnl_ldv1": ("+CGNL+LDv1", "GALD (LDv1)"),
}


class CardError(ValueError):
    """A checkpoint or evaluation run a card needs is missing; the message names it."""


@dataclass(frozen=True)
class Card:
    """What one model card shows."""

    name: str
    meta: dict[str, str]
    stages: list[dict[str, str]]
    params: int
    size_mb: float
    sha256: str
    miou: float
    boundary_f: list[float]
    radii_px: list[int]
    n_images: int
    eval_device: str
    class_iou: dict[str, float] = field(default_factory=dict)


def read_checkpoint(path: Path) -> tuple[dict[str, str], int, str]:
    """(metadata, parameter count, sha256) of a project safetensors file, without building the model."""
    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata() or {})
        keys = list(f.keys())
        params = sum(math.prod(f.get_slice(k).get_shape()) for k in keys if not _is_buffer(k))
    return meta, params, hashlib.sha256(path.read_bytes()).hexdigest()


def _is_buffer(key: str) -> bool:
    return key.endswith(("running_mean", "running_var", "num_batches_tracked"))


def evaluation(db: Path, sha256: str) -> tuple[pd.DataFrame, dict]:
    """Table V frame of the finished :data:`EVAL_DATA` run of the checkpoint with ``sha256``."""
    from gald_viz.metrics.runs import table_v
    from gald_viz.store import ResultsStore

    with ResultsStore(db, read_only=True) as store:
        runs = store.runs()
        match = runs[
            (runs["checkpoint_sha256"] == sha256)
            & (runs["data_spec"] == EVAL_DATA)
            & (runs["status"] == "finished")
            & (runs["n_done"] >= EVAL_LIMIT)
        ]
        if match.empty:
            raise CardError(
                f"{db}: no finished {EVAL_DATA} run of >= {EVAL_LIMIT} images for sha256 {sha256[:16]}"
            )
        table = table_v(store, match.iloc[0]["run_id"])
    return table, table.attrs["run"]


def training_stages(meta: dict[str, str]) -> list[dict[str, str]]:
    """The training runs that made a checkpoint, oldest first.

    A run initialised from *all* tensors of another checkpoint (``--init`` without ``--init-only``)
    continues it, so that checkpoint's own stages come first, as long as its file (the ``init`` path,
    relative to the repository) is still there. A partial ``--init`` (a donated backbone) ends the chain.
    """
    stages = [meta]
    while (init := _init(stages[0])) and not json.loads(stages[0].get("init_only", "[]")):
        path = Path(init) if Path(init).is_absolute() else SOURCE_ROOT / init
        if not path.is_file():
            break
        stages.insert(0, read_checkpoint(path)[0])
    return stages


def _init(meta: dict[str, str]) -> str | None:
    """The ``--init`` path of a run (save_model stores strings as they are and None as JSON ``null``)."""
    init = meta.get("init", "null")
    return None if init == "null" else init


def _frozen(meta: dict[str, str]) -> list[str]:
    """The ``--freeze`` prefixes of a run (none in files written before the option existed)."""
    return json.loads(meta.get("freeze", "[]"))


def load_card(name: str, db: Path) -> Card:
    """Collect the card of bundled model ``name`` from its checkpoint and its evaluation run."""
    path = BUNDLED_DIR / "synthcity" / f"{name}.safetensors"
    if not path.is_file():
        raise CardError(f"{path}: bundled checkpoint missing")
    meta, params, sha = read_checkpoint(path)
    table, run = evaluation(db, sha)
    boundary = table[table["metric"] == "boundary_f"]
    return Card(
        name=name,
        meta=meta,
        stages=training_stages(meta),
        params=params,
        size_mb=path.stat().st_size / 2**20,
        sha256=sha,
        miou=float(table[table["metric"] == "iou"]["mean"].iloc[0]),
        boundary_f=[float(v) for v in boundary["mean"]],
        radii_px=[int(r) for r in boundary["radius_px"]],
        n_images=int(run["n_done"]),
        eval_device=str(run["device"]),
        class_iou=_class_iou(table),
    )


def _class_iou(table: pd.DataFrame) -> dict[str, float]:
    """Class name → IoU of a Table V frame (classes with no GT and no prediction left out)."""
    row = table[table["metric"] == "iou"].iloc[0]
    skip = {"metric", "threshold", "radius_px", "mean"}
    return {k: float(v) for k, v in row.items() if k not in skip and not math.isnan(float(v))}


def _published(name: str) -> tuple[float, list[float] | None]:
    row_i, row_v = PUBLISHED_ROWS[name]
    t1 = published.table_i()
    miou = float(t1[t1["method"] == row_i]["miou_val"].iloc[0])
    if row_v is None:
        return miou, None
    t5 = published.table_v()
    return miou, [float(v) for v in t5[t5["method"] == row_v].sort_values("threshold_px")["mean"]]


def _pct(values: list[float]) -> str:
    return " / ".join(f"{100 * v:.1f}" for v in values)


def _minutes(stages: list[dict[str, str]]) -> str:
    return f"{sum(float(m['train_seconds']) for m in stages) / 60:.0f} min"


def _ran(meta: dict[str, str]) -> str:
    """Iterations a stage ran: ``iterations_run`` (a run with ``--patience`` stops when its validation
    stops rising) or, in checkpoints written before it was recorded, the planned ``iters``."""
    return str(meta.get("iterations_run") or meta["iters"])


def _iters(stages: list[dict[str, str]]) -> str:
    """Iterations per stage; a run on a donated, frozen backbone says whose."""
    text = " + ".join(_ran(m) for m in stages)
    init = _init(stages[0])
    if init and _frozen(stages[0]):
        text += f" on frozen `{Path(init).stem}`"
    return text


def render(cards: list[Card], evidence: list[str] | None = None) -> str:
    """The generated Markdown block: one table row and one section per card, then the mechanism
    evidence (:func:`gald_viz.model_evidence.render_evidence`) when given."""
    radii = "/".join(str(r) for r in cards[0].radii_px)
    lines = [
        BEGIN,
        "",
        f"| model | GA | LD | params | iters | train time | SynthCity val mIoU (%) |"
        f" boundary F {radii} px (%) | published mIoU, Cityscapes R50 (%) |",
        "|---|---|---|---:|---:|---:|---:|---|---:|",
    ]
    for c in cards:
        ga, ld = _ga_ld(c.meta["gald_viz.arch"])
        lines.append(
            f"| `synthcity/{c.name}` | {ga} | {ld} | {c.params / 1e6:.2f} M | {_iters(c.stages)}"
            f" | {_minutes(c.stages)} | {100 * c.miou:.1f} | {_pct(c.boundary_f)}"
            f" | {_published(c.name)[0]:.1f} |"
        )
    lines += ["", *_class_table(cards)]
    for c in cards:
        lines += ["", *_section(c)]
    if evidence:
        lines += ["", *evidence]
    lines += ["", END]
    return "\n".join(lines)


def _class_table(cards: list[Card]) -> list[str]:
    """Per-class IoU of every model (classes as rows), the lowest class, and issue 14's floors."""
    classes = list(dict.fromkeys(k for c in cards for k in c.class_iou))
    lines = [
        f"Per-class IoU (%) on the same {cards[0].n_images} scenes (`{EVAL_DATA}`):",
        "",
        "| class | " + " | ".join(f"`{c.name}`" for c in cards) + " |",
        "|---|" + "---:|" * len(cards),
    ]
    for k in classes:
        cells = [f"{100 * c.class_iou[k]:.1f}" if k in c.class_iou else "–" for c in cards]
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lowest = [
        min(c.class_iou.items(), key=lambda kv: kv[1]) if c.class_iou else ("–", math.nan) for c in cards
    ]
    lines.append("| **lowest** | " + " | ".join(f"{k} {100 * v:.1f}" for k, v in lowest) + " |")
    lines += ["", *_floor_lines(cards)]
    return lines


def _floor_lines(cards: list[Card]) -> list[str]:
    """Whether each GA/GALD model meets mIoU ≥ 0.65 and every class IoU ≥ 0.20, said plainly."""
    out = [
        f"Floors for the GA and GALD models (issue 14): mIoU ≥ {100 * FLOOR_MIOU:.0f} % and every class"
        f" ≥ {100 * FLOOR_CLASS_IOU:.0f} % IoU on ≥ 100 unseen scenes."
    ]
    for c in cards:
        if _ga_ld(c.meta["gald_viz.arch"]) == ("—", "—"):
            continue
        below = [f"{k} {100 * v:.1f}" for k, v in c.class_iou.items() if v < FLOOR_CLASS_IOU]
        misses = ([f"mIoU {100 * c.miou:.1f} %"] if c.miou < FLOOR_MIOU else []) + below
        enough = c.n_images >= 100
        state = "met" if not misses and enough else "**not met**"
        why = "" if not misses else f": below the floor, {', '.join(misses)}"
        why += "" if enough else f"; only {c.n_images} images"
        out.append(f"- `synthcity/{c.name}`: {state}{why}.")
    return out


def _ga_ld(arch: str) -> tuple[str, str]:
    from gald_viz.models.zoo import ZOO

    cfg = ZOO[arch]
    ga = cfg["ga"].upper() if cfg["ga"] != "none" else "—"
    ld = cfg["ld"].replace("ld", "LD") if cfg["ld"] != "none" else "—"
    return ga, ld


def _section(c: Card) -> list[str]:
    arch = c.meta["gald_viz.arch"]
    options = json.loads(c.meta["gald_viz.options"])
    scale = float(options["input_scale"])
    h, w = round(1024 * scale), round(2048 * scale)
    head = " + ".join(x for x in _ga_ld(arch) if x != "—") or "no GA/LD head"
    pub_miou, pub_f = _published(c.name)
    row_i, row_v = PUBLISHED_ROWS[c.name]
    published_f = (
        f"Table V, {row_v} (ResNet-101): boundary F {_pct([v / 100 for v in pub_f])} % at 3/5/9/12 px."
        if pub_f
        else "Table V publishes no boundary F for this arrangement."
    )
    radii = "/".join(map(str, c.radii_px))
    return [
        f"### `synthcity/{c.name}`",
        "",
        f"- **Architecture**: `{arch}` ({head} on the `{options['backbone']}` dilated ResNet), head width"
        f" {options['head_channels']}, output stride 8,"
        f" probe heads {'on' if options.get('probes') else 'off'},"
        f" `input_scale={scale:g}`: a 1024×2048 image runs at {h}×{w}"
        f" ({math.ceil(h / 8) + 1}×{math.ceil(w / 8) + 1} logits).",
        f"- **Parameters**: {c.params:,} ({c.size_mb:.1f} MB file, sha256 `{c.sha256[:16]}…`).",
        f"- **Training**: {len(c.stages)} stage(s), {_iters(c.stages)} iterations, {_minutes(c.stages)}"
        f" on {c.meta['device']}:",
        *(_stage_line(i, m) for i, m in enumerate(c.stages, 1)),
        f"- **SynthCity val** ({c.n_images} images at 1024×2048, {c.eval_device}): mIoU {100 * c.miou:.1f} %,"
        f" boundary F {_pct(c.boundary_f)} % at {radii} px.",
        f"- **Evaluate**: `python -m gald_viz.evaluate model --model synthcity/{c.name} --data {EVAL_DATA}`",
        f"- **Published** (Cityscapes val, not SynthCity): Table I {row_i} (ResNet-50) mIoU {pub_miou:.1f} %."
        f" {published_f}",
        *_learning_lines(c),
    ]


def _learning_lines(c: Card) -> list[str]:
    """The branch-learning table of every training stage that recorded one, and the validation curves."""
    from gald_viz.train.branches import METADATA_KEY, format_branch_report

    lines = []
    for index, meta in enumerate(c.stages, 1):
        if METADATA_KEY in meta:
            table = format_branch_report(json.loads(meta[METADATA_KEY]))
            lines += [
                f"- **Branch learning**, stage {index} (`scripts/branch_learning.py`):",
                "",
                "```",
                table,
                "```",
            ]
        curve = json.loads(meta.get("val_curve", "[]") or "[]")
        if curve:
            heads = list(curve[-1]["scores"])
            lines += [
                f"- **Validation mIoU**, stage {index} ({meta.get('val_images', '?')} unseen SynthCity val"
                " scenes, seed 9100), by iteration:",
                "",
                "| iteration | " + " | ".join(heads) + " |",
                "|---:|" + "---:|" * len(heads),
                *(
                    f"| {p['iteration']} | "
                    + " | ".join(f"{100 * p['scores'].get(h, float('nan')):.1f}" for h in heads)
                    + " |"
                    for p in curve
                ),
            ]
    return lines


def _stage_line(index: int, meta: dict[str, str]) -> str:
    init = _init(meta)
    only = json.loads(meta.get("init_only", "[]"))
    if init is None:
        start = "random initialisation"
    elif only:
        start = f"tensors under {', '.join(f'`{p}`' for p in only)} from `{init}`, the rest random"
    else:
        start = f"continues `{init}`"
    if frozen := _frozen(meta):
        start += f"; {', '.join(f'`{p}`' for p in frozen)} frozen (weights and BN statistics)"
    ohem = "on" if meta["ohem"] == "true" else "off"
    return (
        f"  {index}. {_ran(meta)} iterations{_planned(meta)}, batch {meta['batch']}, crops {meta['crop']},"
        f" lr {meta['lr']} (poly 0.9), weight decay {meta['wd']}, OHEM {ohem},"
        f" seed {meta['seed']}; {start}; data {meta['data']}; {_minutes([meta])}, commit"
        f" `{meta['git_commit']}`. Command: `{meta['command']}`"
    )


def _planned(meta: dict[str, str]) -> str:
    """`` (of 1000 planned: validation stopped rising)`` for a stage that stopped early, else empty."""
    if _ran(meta) == str(meta["iters"]):
        return ""
    return f" (of {meta['iters']} planned: validation stopped rising)"


def update_readme(readme: Path, block: str) -> None:
    """Replace the marked block of ``readme`` (append it when the markers are absent)."""
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    from gald_viz.jobs import DEFAULT_DB

    p = argparse.ArgumentParser(prog="python -m gald_viz.model_cards", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default=str(DEFAULT_DB), help="results database holding the evaluation runs")
    p.add_argument("--readme", default=str(BUNDLED_DIR / "README.md"))
    p.add_argument(
        "--evidence",
        default="results/evidence",
        help="folder of the mechanism reports (gald_viz.model_evidence); also sets the app's default pair",
    )
    a = p.parse_args(argv)
    try:
        cards = [load_card(name, Path(a.db)) for name in BUNDLED]
        reports = load_reports(Path(a.evidence))
    except (CardError, EvidenceError) as exc:
        print(f"error: {exc}")
        return 2
    update_readme(Path(a.readme), render(cards, render_evidence(reports, a.evidence)))
    write_default_pair(default_pair(reports))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
