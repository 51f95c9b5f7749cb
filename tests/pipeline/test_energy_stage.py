"""The static-versus-dynamic energy comparison is made over well-posed transitions only."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from brainctrl.pipeline import PipelineConfig, run_pipeline
from brainctrl.pipeline._group import compare_energies

pytestmark = pytest.mark.filterwarnings(
    "ignore::brainctrl.exceptions.UnreachableTargetWarning",
    "ignore::brainctrl.exceptions.IllConditionedWarning",
)


def _rows(subject, static, dynamic, unreached_static=0.0, condition_static=10.0, pair=0):
    common = {
        "subject": subject,
        "session": None,
        "run": "1",
        "analysis": "primary",
        "control": "Default + 0.01 elsewhere",
        "epsilon": 0.01,
        "horizon": 1.0,
        "window_length": 60,
        "from_state": pair,
        "to_state": pair + 1,
        "rank": 10,
    }
    return [
        {
            **common,
            "network": "static",
            "energy": static,
            "condition_number": condition_static,
            "unreachable_fraction": unreached_static,
            "well_posed": unreached_static <= 1e-6 and condition_static <= 1e10,
        },
        {
            **common,
            "network": "dynamic",
            "energy": dynamic,
            "condition_number": 5.0,
            "unreachable_fraction": 0.0,
            "well_posed": True,
        },
    ]


def test_ratios_and_exclusions_by_hand():
    rows = []
    rows += _rows("a", 10.0, 5.0, pair=0) + _rows("a", 8.0, 2.0, pair=1)
    rows += _rows("b", 4.0, 4.0, pair=0) + _rows("b", 1.0, 0.5, pair=1)
    rows += _rows("c", 2.0, 1.0, pair=0)
    rows += _rows("c", np.inf, 1.0, unreached_static=0.3, condition_static=np.inf, pair=1)
    rows += _rows("c", 3.0, 1.0, condition_static=1e13, pair=2)
    pairs, table = compare_energies(pd.DataFrame(rows))
    (row,) = table.to_dict("records")
    assert (row["n_transitions"], row["n_used"], row["n_excluded"]) == (7, 5, 2)
    assert row["excluded_reasons"] in (
        "static target not reached: 1; static Gramian ill-conditioned: 1",
        "static Gramian ill-conditioned: 1; static target not reached: 1",
    )
    per_subject = np.array(
        [
            np.mean(np.log([0.5, 0.25])),
            np.mean(np.log([1.0, 0.5])),
            np.log(0.5),
        ]
    )
    assert row["ratio"] == pytest.approx(np.exp(per_subject.mean()), rel=1e-12)
    half = stats.t.ppf(0.975, 2) * per_subject.std(ddof=1) / np.sqrt(3)
    assert row["ci_low"] == pytest.approx(np.exp(per_subject.mean() - half), rel=1e-12)
    assert row["ci_high"] == pytest.approx(np.exp(per_subject.mean() + half), rel=1e-12)
    assert row["p"] == pytest.approx(stats.wilcoxon(per_subject).pvalue)
    assert row["max_condition_static"] == 10.0
    assert pairs["log_ratio"].isna().sum() == 2


def test_the_figure_colours_by_the_tables_condition_numbers():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from brainctrl.plotting import plot_energy_comparison

    table = pd.DataFrame(
        {
            "static": [1.0, 2.0, 3.0, 4.0],
            "dynamic": [0.5, 1.0, 2.0, 5.0],
            "condition_number": [1e3, 4.2e7, np.inf, 2.0],
        }
    )
    fig = plot_energy_comparison(table)
    (points,) = [c for c in fig.axes[0].collections if c.get_gid() == "energy-points"]
    np.testing.assert_array_equal(points.get_array(), np.log10([1e3, 4.2e7, 2.0]))
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert "condition number inf" in labels
    plt.close(fig)


def test_the_pipeline_compares_well_posed_transitions(small_dataset, small_config, tmp_path):
    from brainctrl.control import fc_to_system, minimum_energy
    from brainctrl.control.energy import condition_text

    out = tmp_path / "out"
    config = PipelineConfig.from_dict(small_config(small_dataset))
    status = run_pipeline(config, out_dir=out, verbose=False)
    energy = pd.concat(
        [pd.read_parquet(f) for f in sorted(out.glob("sub-*/*_energy.parquet"))],
        ignore_index=True,
    )
    design = json.loads((out / "group" / "energy_design.json").read_text())
    epsilon = design["epsilon"]
    conditioning = pd.read_parquet(out / "group" / "energy_conditioning.parquet")
    # epsilon auto: the smallest weight whose first runs' static Gramians stay below 1e8
    assert epsilon == conditioning.loc[conditioning["condition_number"] <= 1e8, "epsilon"].min()
    expected_analyses = {"primary", "control set alone", "all regions"}
    expected_analyses |= {f"random set {i}" for i in range(1, 6)}
    expected_analyses |= {"horizon 0.5", "horizon 2", "window 15", "window 60"}
    expected_analyses |= {f"epsilon {epsilon * f:g}" for f in (10, 100, 1000) if epsilon * f < 1}
    assert set(energy["analysis"]) == expected_analyses

    # the table's condition number is the result's, for the primary static Gramian
    first = sorted(out.glob("sub-*/*_matrices.npz"))[0]
    subject = first.name.split("_")[0].removeprefix("sub-")
    with np.load(first) as data:
        fc = data["static_fc"].astype(float)
    regions = pd.read_csv(small_dataset.parent / "regions.tsv", sep="\t")
    weights = np.where(regions["network"] == "Default", 1.0, epsilon)
    states = np.load(out / "group" / "states.npz")["activity_centroids"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = minimum_energy(
            fc_to_system(fc, system="continuous"),
            states[0],
            states[1],
            weights,
            system="continuous",
        )
    rows = energy[
        (energy["subject"] == subject)
        & (energy["analysis"] == "primary")
        & (energy["network"] == "static")
    ]
    assert (rows["condition_number"] == float(direct.condition_number)).all()
    row = rows[(rows["from_state"] == 0) & (rows["to_state"] == 1)].iloc[0]
    assert row["energy"] == pytest.approx(float(direct.energy), rel=1e-6)

    # the control set alone is (numerically) singular, inf where an eigenvalue is zero or
    # negative: excluded with its energy inf, and no warning for a control that is
    # singular by design (its health is in the table)
    alone = energy[(energy["analysis"] == "control set alone") & (energy["network"] == "static")]
    assert not (alone["condition_number"] <= 1e10).any() and not alone["well_posed"].any()
    assert np.isinf(alone["energy"]).all() and np.isfinite(alone["reachable_energy"]).all()
    assert np.isinf(alone["condition_number"]).any()
    records = status[status["stage"] == "energy"]["warnings"].fillna("")
    assert not records.str.contains("UnreachableTargetWarning").any()

    # the headline is computed on well-posed transitions, and says which they are
    pairs = pd.read_parquet(out / "group" / "energy_static_vs_dynamic.parquet")
    used = pairs[(pairs["analysis"] == "primary") & pairs["used"]]
    assert len(used) and (used[["unreached_static", "unreached_dynamic"]] <= 1e-6).all().all()
    assert (used[["condition_static", "condition_dynamic"]] <= 1e10).all().all()
    summary = json.loads((out / "group" / "summary.json").read_text())["energy"]
    assert summary["n_used"] == len(used)
    report = (out / "report.html").read_text()
    assert f"static {condition_text(used['condition_static'].max())}, dynamic" in report
    assert f"Dynamic / static energy = {summary['ratio']:.3g}" in report


def test_no_well_posed_transition_gives_no_ratio(small_dataset, small_config, tmp_path):
    out = tmp_path / "out"
    settings = small_config(
        small_dataset,
        control={
            "epsilon": 1e-9,
            "n_random_sets": 0,
            "sweep_horizons": [],
            "sweep_window_lengths": [],
        },
    )
    run_pipeline(PipelineConfig.from_dict(settings), out_dir=out, verbose=False)
    summary = json.loads((out / "group" / "summary.json").read_text())["energy"]
    assert summary["n_used"] == 0 and "ratio" not in summary
    report = (out / "report.html").read_text()
    assert "No transition of the primary analysis is well posed" in report
    assert "Dynamic / static energy =" not in report


def _row(ratio, low, high, n_used=10):
    return {"ratio": ratio, "ci_low": low, "ci_high": high, "n_used": n_used}


def test_the_verdict_states_a_direction_only_when_every_control_agrees():
    from brainctrl.pipeline._group import _energy_verdict

    rows = pd.DataFrame(
        {
            "primary": _row(0.2, 0.15, 0.25),
            "epsilon 0.003": _row(0.6, 0.5, 0.7),
            "epsilon 0.03": _row(1.1, 1.05, 1.2),
            "all regions": _row(1.04, 1.03, 1.05),
        }
    ).T
    text = _energy_verdict(rows, "Default")
    assert "not under epsilon 0.03, all regions" in text and "no robust difference" in text
    rows = rows.drop(index=["epsilon 0.03", "all regions"])
    specific = {"ratio_of_ratios": 0.5, "p": 0.001, "n_subjects": 20}
    assert "specific to Default" in _energy_verdict(rows, "Default", specific)
    assert "not specific" in _energy_verdict(rows, "Default", {**specific, "p": 0.4})
    assert "cannot be told" in _energy_verdict(rows, "Default", None)
    rows.loc["primary"] = _row(0.9, 0.7, 1.1)
    assert "contains 1: no difference" in _energy_verdict(rows, "Default")


def test_specificity_against_random_sets_is_paired_by_subject():
    from brainctrl.pipeline._group import random_set_specificity

    rng = np.random.default_rng(3)
    rows = []
    for subject in range(8):
        for analysis, shift in (("primary", -0.5), ("random set 1", 0.0), ("random set 2", 0.1)):
            for _ in range(3):
                rows.append(
                    {
                        "subject": str(subject),
                        "analysis": analysis,
                        "used": True,
                        "log_ratio": shift + 0.05 * rng.standard_normal(),
                    }
                )
    pairs = pd.DataFrame(rows)
    result = random_set_specificity(pairs)
    per = pairs.groupby(["analysis", "subject"])["log_ratio"].mean().unstack("analysis")
    difference = per["primary"] - per[["random set 1", "random set 2"]].mean(axis=1)
    assert result["ratio_of_ratios"] == pytest.approx(np.exp(difference.mean()), rel=1e-12)
    assert result["p"] == pytest.approx(stats.wilcoxon(difference).pvalue)
    assert result["n_subjects"] == 8 and result["p"] < 0.05
