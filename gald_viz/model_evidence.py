"""What the bundled models' cards say about the mechanisms, and the app's default pair, from mechanism
reports (``python -m gald_viz.evaluate mechanisms … --json``) on unseen SynthCity val scenes.

Four comparisons (:data:`PAIRS`): GA − FCN (``fcn`` → ``aspp``), GALD − GA for LDv1 and LDv2
(``aspp`` → ``aspp_ldv1`` / ``aspp_ldv2``) and GALD − FCN for the CGNL model (no GA-only CGNL model is
bundled). Each report holds both models' scores with 95 % intervals, their paired differences, the
knock-outs of the second model (and ``context=off`` of the first), the LDv1 mask by distance band and
LDv2's same-class share against the uniform kernel's by band. :func:`render_evidence` turns them into
Markdown; :func:`default_pair` picks the GA/GALD pair whose difference the evidence supports best.

A difference is *established* when its interval excludes 0; otherwise the card says "not established",
never "helps" or "hurts".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from gald_viz.metrics.conventions import DEFAULT_THRESHOLDS, PAPER_RADII_PX

EVIDENCE_SEED = 4242
"""The seed of the evidence's SynthCity val scenes; no training or validation uses it."""
EVIDENCE_DATA = f"synthcity:val:count=100,seed={EVIDENCE_SEED}"
"""The unseen scenes of the evidence: the first 100 SynthCity val scenes of :data:`EVIDENCE_SEED`."""


class Pair(NamedTuple):
    """One comparison: the reference, the model adding a mechanism, what the difference means, and the
    knock-outs measured (``ga:`` ones on the reference)."""

    ga: str
    gald: str
    meaning: str
    interventions: tuple[str, ...]


PAIRS = (
    Pair("fcn", "aspp", "GA − FCN", ("context=off",)),
    Pair("aspp", "aspp_ldv1", "GALD − GA", ("ldv1.mask=mean", "context=off", "ga:context=off")),
    Pair(
        "aspp",
        "aspp_ldv2",
        "GALD − GA",
        ("ldv2.kernel=uniform", "ldv2.kernel=centre", "context=off", "ga:context=off"),
    ),
    Pair("fcn", "cgnl_ldv1", "GALD − FCN", ("ldv1.mask=mean", "context=off")),
)


class EvidenceError(ValueError):
    """A mechanism report the cards need is missing or is of other models; the message names it."""


def report_path(folder: Path, pair: Pair) -> Path:
    """Where the report of ``pair`` is kept: ``FOLDER/GA__GALD.json``."""
    return Path(folder) / f"{pair.ga}__{pair.gald}.json"


def command(pair: Pair, folder: Path | str = "results/evidence") -> str:
    """The command that writes the report of ``pair``."""
    return (
        f"python -m gald_viz.evaluate mechanisms --ga synthcity/{pair.ga} --gald synthcity/{pair.gald}"
        f" --data {EVIDENCE_DATA} --interventions {' '.join(pair.interventions)}"
        f" --json {Path(folder) / f'{pair.ga}__{pair.gald}.json'}"
    )


def commands_for(models) -> list[str]:
    """The commands of the pairs whose two models are both among ``models`` (bundled names without
    ``synthcity/``), in :data:`PAIRS` order: the evidence that can be measured while others still train."""
    picked = set(models)
    return [command(pair) for pair in PAIRS if {pair.ga, pair.gald} <= picked]


def load_reports(folder: Path) -> dict[Pair, dict]:
    """Every pair's report from ``folder``, checked to be of that pair's models."""
    reports = {}
    for pair in PAIRS:
        path = report_path(folder, pair)
        if not path.is_file():
            raise EvidenceError(f"{path}: missing; write it with `{command(pair, folder)}`")
        rep = json.loads(path.read_text())
        names = (rep["ga"]["name"], rep["gald"]["name"])
        if names != (f"synthcity/{pair.ga}", f"synthcity/{pair.gald}"):
            raise EvidenceError(
                f"{path}: a report of {names[0]} and {names[1]}, not of {pair.ga}/{pair.gald}"
            )
        reports[pair] = rep
    return reports


def pct(value: float | None, ci: list | None = None, *, signed: bool = False) -> str:
    """``57.1 [55.0, 59.2]`` in per cent (``+0.4 [−0.1, +0.9]`` when ``signed``); ``–`` for no value.

    >>> pct(0.5712, [0.55, 0.5921]), pct(0.004, [-0.001, 0.009], signed=True), pct(None)
    ('57.1 [55.0, 59.2]', '+0.4 [-0.1, +0.9]', '–')
    """
    if value is None:
        return "–"
    spec = "+.1f" if signed else ".1f"
    text = format(100 * value, spec)
    return text if ci is None else f"{text} [{format(100 * ci[0], spec)}, {format(100 * ci[1], spec)}]"


def verdict(difference: dict) -> str:
    """``helps`` / ``hurts`` when the interval excludes 0, else ``not established``."""
    if difference["estimate"] is None:
        return "–"
    if difference["contains_zero"]:
        return "not established"
    return "helps" if difference["estimate"] > 0 else "hurts"


def _diff(d: dict) -> str:
    return pct(d["estimate"], d["ci95"], signed=True)


def model_rows(reports: dict[Pair, dict]) -> dict[str, dict]:
    """Each model's scores with intervals, from the first report that holds it."""
    rows: dict[str, dict] = {}
    for pair, rep in reports.items():
        for side, name in (("ga", pair.ga), ("gald", pair.gald)):
            if name not in rows:
                rows[name] = {
                    "miou": pct(rep["scores"][side]["miou"], rep["ci95"]["scores"][side]["miou"]),
                    "boundary_f": [
                        pct(v, c)
                        for v, c in zip(
                            rep["scores"][side]["boundary_f"],
                            rep["ci95"]["scores"][side]["boundary_f"],
                            strict=True,
                        )
                    ],
                    "boundary_iou": pct(
                        rep["boundary_iou"][side]["mean"], rep["ci95"]["boundary_iou"][side]["mean"]
                    ),
                    "n_images": rep["n_images"],
                }
    return rows


def _bands(rep: dict) -> list[str]:
    edges = rep["bands_px"]
    labels = [f"{a:g}–{b:g} px" for a, b in zip(edges, edges[1:], strict=False)]
    return labels + [f"≥ {edges[-1]:g} px"] if len(labels) < len(rep["fourway"]["fixes_by_band"]) else labels


def render_evidence(reports: dict[Pair, dict], folder: Path | str = "results/evidence") -> list[str]:
    """The cards' mechanism section: scores, differences, knock-outs, LDv1 mask and LDv2 share by band."""
    first = next(iter(reports.values()))
    radii = "/".join(f"{t:g}" for t in first["thresholds"]) + " diag"
    if tuple(first["thresholds"]) == DEFAULT_THRESHOLDS:
        radii += " (" + "/".join(map(str, PAPER_RADII_PX)) + " px at 1024×2048)"
    lines = [
        "## What the mechanisms do (measured)",
        "",
        f"{first['n_images']} unseen scenes of `{first['data']}`; 95 % intervals from a paired bootstrap"
        f" over images ({first['bootstrap']['resamples']} resamples). A difference whose interval contains 0"
        " is *not established*.",
        "",
        f"| model | mIoU (%) | boundary F at {radii} (%) | Boundary IoU (%) |",
        "|---|---|---|---|",
    ]
    for name, row in model_rows(reports).items():
        lines.append(
            f"| `{name}` | {row['miou']} | {' / '.join(row['boundary_f'])} | {row['boundary_iou']} |"
        )
    lines += ["", f"| difference | ΔmIoU (pt) | Δ boundary F at {radii} (pt) | Δ Boundary IoU (pt) | mIoU |"]
    lines.append("|---|---|---|---|---|")
    for pair, rep in reports.items():
        d = rep["differences"]
        lines.append(
            f"| {pair.meaning}: `{pair.gald}` − `{pair.ga}` | {_diff(d['miou'])} |"
            f" {' / '.join(_diff(x) for x in d['boundary_f'])} | {_diff(d['boundary_iou'][0])} |"
            f" {verdict(d['miou'])} |"
        )
    lines += [
        "",
        "| model | knock-out | ΔmIoU (pt) | Δ boundary F, first threshold (pt) | pixels changed | mIoU |",
    ]
    lines.append("|---|---|---|---|---:|---|")
    shown = set()
    for pair, rep in reports.items():
        for name, ko in rep["interventions"].items():
            model = pair.ga if ko["model"] == "ga" else pair.gald
            if (model, name.removeprefix("ga:")) in shown:  # the same knock-out in another report
                continue
            shown.add((model, name.removeprefix("ga:")))
            lines.append(
                f"| `{model}` | `{name.removeprefix('ga:')}` | {_diff(ko['delta_miou'])} |"
                f" {_diff(ko['delta_boundary_f'][0])} | {100 * ko['changed_share']:.1f} % |"
                f" {verdict(ko['delta_miou'])} |"
            )
    for pair, rep in reports.items():
        if rep["ldv1"] is not None:
            means, cis = rep["ldv1"]["mask_mean_by_band"], rep["ci95"]["ldv1"]["mask_mean_by_band"]
            cells = " | ".join(pct(m, c) for m, c in zip(means, cis, strict=True))
            lines += [
                "",
                f"LDv1 mask of `{pair.gald}` (channel mean of M, %) by distance to the nearest GT boundary:",
            ]
            lines += ["", "| " + " | ".join(_bands(rep)) + " |", "|" + "---|" * len(means), f"| {cells} |"]
        if rep["ldv2"] is not None:
            ldv2, ci = rep["ldv2"], rep["ci95"]["ldv2"]
            diffs = rep["differences"]["same_class_minus_uniform_by_band"]
            lines += [
                "",
                f"LDv2 of `{pair.gald}`: weight on same-class neighbours (%) against the uniform kernel's:",
            ]
            lines += ["", "| | " + " | ".join(_bands(rep)) + " |", "|---|" + "---|" * len(diffs)]
            for label, values, cis in (
                ("learned", ldv2["same_class_share_by_band"], ci["same_class_share_by_band"]),
                ("uniform", ldv2["uniform_share_by_band"], ci["uniform_share_by_band"]),
            ):
                lines.append(
                    f"| {label} | " + " | ".join(pct(v, c) for v, c in zip(values, cis, strict=True)) + " |"
                )
            lines.append("| learned − uniform (pt) | " + " | ".join(_diff(d) for d in diffs) + " |")
    lines += ["", *_plainly(reports), "", "Reproduce:", ""]
    lines += [f"    {command(pair, folder)}" for pair in reports]
    return lines


def _radii(rep: dict) -> list[str]:
    """The report's boundary tolerances as the cards name them (``3 px`` … at the paper's thresholds)."""
    if tuple(rep["thresholds"]) == DEFAULT_THRESHOLDS:
        return [f"{r} px" for r in PAPER_RADII_PX]
    return [f"{t:g}" for t in rep["thresholds"]]


def _boundary_verdicts(rep: dict) -> str:
    """``; boundary F gains at 9 px +1.1 [+0.1, +2.2] pt, …`` for the established boundary F differences
    of a report (gains and losses), or ``; no established boundary F difference``."""
    parts = []
    for word, v in (("gains", "helps"), ("losses", "hurts")):
        at = [
            f"{r} {_diff(x)} pt"
            for r, x in zip(_radii(rep), rep["differences"]["boundary_f"], strict=True)
            if verdict(x) == v
        ]
        if at:
            parts.append(f"{word} at {', '.join(at)}")
    return "; boundary F " + "; ".join(parts) if parts else "; no established boundary F difference"


def _plainly(reports: dict[Pair, dict]) -> list[str]:
    """One sentence per comparison of the two models: established gain, established loss, or not
    established, for mIoU and for boundary F. (What a mechanism does *inside* a model is the knock-outs'.)"""
    out = []
    for pair, rep in reports.items():
        d = rep["differences"]["miou"]
        what = {"helps": "raises", "hurts": "lowers"}.get(verdict(d))
        if what:
            head = f"- `{pair.gald}` {what} mIoU over `{pair.ga}` by {_diff(d)} pt ({pair.meaning})"
        else:
            head = (
                f"- {pair.meaning}: `{pair.gald}` − `{pair.ga}` = {_diff(d)} pt mIoU is not established (no"
                " measurable mIoU difference between the two models on these scenes)"
            )
        out.append(head + _boundary_verdicts(rep) + ".")
    return out


def _support(rep: dict) -> tuple[bool, int, float]:
    """How well a GALD − GA report supports its GALD model, best last: no established mIoU loss, the
    number of established gains (mIoU and boundary F at each threshold), the lower end of the ΔmIoU
    interval."""
    d = rep["differences"]
    gains = sum(verdict(x) == "helps" for x in (d["miou"], *d["boundary_f"]))
    return verdict(d["miou"]) != "hurts", gains, d["miou"]["ci95"][0]


def default_pair(reports: dict[Pair, dict]) -> dict:
    """The GA/GALD pair the evidence supports best (:func:`_support`: among the GALD − GA comparisons,
    one without an established mIoU loss, then the most established gains, then the highest lower end of
    the ΔmIoU interval); ``{"ga", "gald", "reason"}`` with the models' bundled names."""
    candidates = [(pair, rep) for pair, rep in reports.items() if pair.meaning == "GALD − GA"]
    if not candidates:
        raise EvidenceError("no GALD − GA comparison among the reports")
    pair, rep = max(candidates, key=lambda pr: _support(pr[1]))
    d = rep["differences"]
    state = {
        "helps": "an established gain",
        "hurts": "an established loss: no GALD model of these avoids one against its GA model",
    }.get(verdict(d["miou"]), "not established (its interval contains 0)")
    reason = (
        f"`{pair.gald}` − `{pair.ga}`: ΔmIoU {_diff(d['miou'])} pt on {rep['n_images']} unseen scenes,"
        f" {state}{_boundary_verdicts(rep)}. Of the GALD − GA comparisons, the one the evidence supports"
        " best (no established mIoU loss, then the most established gains, then the highest lower bound of"
        " ΔmIoU)"
    )
    return {"ga": f"synthcity/{pair.ga}", "gald": f"synthcity/{pair.gald}", "reason": reason}
