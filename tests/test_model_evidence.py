"""The cards' mechanism evidence and the app's default pair (gald_viz.model_evidence)."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from gald_viz.checkpoints import default_pair as app_default_pair
from gald_viz.checkpoints import save_model, write_default_pair
from gald_viz.evaluate import main
from gald_viz.model_evidence import (
    PAIRS,
    EvidenceError,
    command,
    commands_for,
    default_pair,
    load_reports,
    pct,
    render_evidence,
    report_path,
    verdict,
)
from gald_viz.models import build_model

DATA = "synthcity:val:size=64x128"


@pytest.fixture(scope="module")
def report(tmp_path_factory, one_thread):
    folder = tmp_path_factory.mktemp("ev")
    for arch, seed in (("aspp", 0), ("aspp_ldv1", 1)):
        torch.manual_seed(seed)
        save_model(
            build_model(arch, backbone="small", head_channels=16).eval(), folder / f"{arch}.safetensors"
        )
    args = [
        "mechanisms",
        "--ga",
        str(folder / "aspp.safetensors"),
        "--gald",
        str(folder / "aspp_ldv1.safetensors"),
    ]
    args += ["--data", DATA, "--limit", "2", "--db", str(folder / "m.sqlite"), "--bootstrap", "50"]
    args += [
        "--interventions",
        "ldv1.mask=mean",
        "ga:context=off",
        "--device",
        "cpu",
        "--json",
        str(folder / "r.json"),
    ]
    assert main(args) == 0
    return json.loads((folder / "r.json").read_text())


def as_pair(rep: dict, pair) -> dict:
    out = copy.deepcopy(rep)
    out["ga"]["name"], out["gald"]["name"] = f"synthcity/{pair.ga}", f"synthcity/{pair.gald}"
    return out


def test_verdicts_say_established_only_when_the_interval_excludes_zero():
    assert verdict({"estimate": 0.01, "ci95": [0.001, 0.02], "contains_zero": False}) == "helps"
    assert verdict({"estimate": -0.01, "ci95": [-0.02, -0.001], "contains_zero": False}) == "hurts"
    assert verdict({"estimate": 0.01, "ci95": [-0.001, 0.02], "contains_zero": True}) == "not established"
    assert pct(0.12345, [0.1, 0.15]) == "12.3 [10.0, 15.0]"


def test_rendered_tables_hold_the_reports_numbers(report, tmp_path):
    reports = {pair: as_pair(report, pair) for pair in PAIRS}
    text = "\n".join(render_evidence(reports, tmp_path))
    s = report["scores"]["gald"]
    row = next(line for line in text.splitlines() if line.startswith("| `aspp_ldv1` |"))
    assert pct(s["miou"], report["ci95"]["scores"]["gald"]["miou"]) in row
    assert pct(s["boundary_f"][3], report["ci95"]["scores"]["gald"]["boundary_f"][3]) in row
    d = report["differences"]["miou"]
    diff_row = next(
        line for line in text.splitlines() if line.startswith("| GALD − GA: `aspp_ldv1` − `aspp`")
    )
    assert pct(d["estimate"], d["ci95"], signed=True) in diff_row and verdict(d) in diff_row
    ko = report["interventions"]["ldv1.mask=mean"]["delta_miou"]
    ko_row = next(line for line in text.splitlines() if "`ldv1.mask=mean`" in line)
    assert pct(ko["estimate"], ko["ci95"], signed=True) in ko_row
    # aspp's context=off is in two reports (both GALD − GA pairs): one row
    assert sum(line.startswith("| `aspp` | `context=off`") for line in text.splitlines()) == 1
    band = report["ldv1"]["mask_mean_by_band"][0]
    assert pct(band, report["ci95"]["ldv1"]["mask_mean_by_band"][0]) in text
    for pair in PAIRS:
        assert command(pair, tmp_path) in text
    said = next(line for line in text.splitlines() if line.startswith("- ") and "`aspp_ldv1`" in line)
    if verdict(d) == "not established":
        assert "no measurable mIoU difference between the two models" in said
    else:
        assert ("raises" if verdict(d) == "helps" else "lowers") in said
    assert "boundary F" in said and said.endswith(".")


def test_default_pair_takes_the_highest_lower_bound_and_the_app_reads_it(report, tmp_path):
    reports = {pair: as_pair(report, pair) for pair in PAIRS}
    ldv1, ldv2 = PAIRS[1], PAIRS[2]
    reports[ldv1]["differences"]["miou"] = {"estimate": 0.01, "ci95": [-0.004, 0.02], "contains_zero": True}
    reports[ldv2]["differences"]["miou"] = {"estimate": 0.006, "ci95": [0.001, 0.011], "contains_zero": False}
    chosen = default_pair(reports)
    assert (chosen["ga"], chosen["gald"]) == ("synthcity/aspp", "synthcity/aspp_ldv2")
    assert "an established gain" in chosen["reason"] and "not established" not in chosen["reason"]
    for pair, low in ((ldv1, -0.01), (ldv2, -0.004)):  # both lose: the smaller loss, called a loss
        loss = {"estimate": low / 2, "ci95": [low, low / 4], "contains_zero": False}
        reports[pair]["differences"]["miou"] = loss
    lost = default_pair(reports)
    assert lost["gald"] == "synthcity/aspp_ldv2" and "an established loss" in lost["reason"]
    assert "-0.2 [-0.4, -0.1] pt" in lost["reason"]
    # LDv1 loses (established) with the higher lower bound; LDv2's loss is not established: LDv2
    reports[ldv1]["differences"]["miou"] = {
        "estimate": -0.006,
        "ci95": [-0.010, -0.002],
        "contains_zero": False,
    }
    reports[ldv2]["differences"]["miou"] = {
        "estimate": -0.007,
        "ci95": [-0.013, 0.001],
        "contains_zero": True,
    }
    assert default_pair(reports)["gald"] == "synthcity/aspp_ldv2"
    # equal mIoU verdicts: the more established boundary F gains win over the higher lower bound
    reports[ldv1]["differences"]["miou"] = {"estimate": 0.0, "ci95": [-0.002, 0.002], "contains_zero": True}
    gain = {"estimate": 0.011, "ci95": [0.001, 0.021], "contains_zero": False}
    none = {"estimate": 0.001, "ci95": [-0.01, 0.012], "contains_zero": True}
    reports[ldv1]["differences"]["boundary_f"] = [none] * 4
    reports[ldv2]["differences"]["boundary_f"] = [none, none, gain, gain]
    chosen = default_pair(reports)
    assert chosen["gald"] == "synthcity/aspp_ldv2"
    assert "; boundary F gains at 9 px +1.1 [+0.1, +2.1] pt, 12 px +1.1 [+0.1, +2.1] pt." in chosen["reason"]
    reports[ldv2]["differences"]["boundary_f"] = [none] * 4
    assert default_pair(reports)["gald"] == "synthcity/aspp_ldv1"
    assert "no established boundary F difference" in default_pair(reports)["reason"]
    loss = {**gain, "estimate": -0.011, "ci95": [-0.021, -0.001]}
    reports[ldv1]["differences"]["boundary_f"] = [none, none, none, loss]
    assert "; boundary F losses at 12 px -1.1 [-2.1, -0.1] pt." in default_pair(reports)["reason"]
    write_default_pair(chosen, tmp_path)
    assert app_default_pair(tmp_path) == ("synthcity/aspp", "synthcity/aspp_ldv2", chosen["reason"])
    assert app_default_pair(tmp_path / "none")[:2] == ("synthcity/aspp", "synthcity/aspp_ldv2")


def test_load_reports_names_the_missing_or_wrong_file(report, tmp_path):
    with pytest.raises(EvidenceError, match="fcn__aspp.json: missing; write it with `python -m gald_viz"):
        load_reports(tmp_path)
    for pair in PAIRS:
        report_path(tmp_path, pair).write_text(json.dumps(as_pair(report, pair)))
    assert set(load_reports(tmp_path)) == set(PAIRS)
    report_path(tmp_path, PAIRS[0]).write_text(json.dumps(as_pair(report, PAIRS[1])))
    with pytest.raises(EvidenceError, match="not of fcn/aspp"):
        load_reports(tmp_path)


def test_the_evidence_measurable_so_far_is_the_pairs_of_two_picked_models():
    done = commands_for(["fcn", "aspp", "aspp_ldv1"])
    assert done == [command(PAIRS[0]), command(PAIRS[1])]
    assert "--ga synthcity/fcn --gald synthcity/aspp " in done[0]
    assert "--ga synthcity/aspp --gald synthcity/aspp_ldv1 " in done[1]
    assert commands_for(["aspp_ldv2", "cgnl_ldv1"]) == []  # each lacks its reference
    assert commands_for(["fcn", "aspp", "aspp_ldv1", "aspp_ldv2", "cgnl_ldv1"]) == [command(p) for p in PAIRS]
