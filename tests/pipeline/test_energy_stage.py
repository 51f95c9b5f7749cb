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
        direct = minimum_energy(fc_to_system(fc), states[0], states[1], weights)
    rows = energy[
        (energy["subject"] == subject)
        & (energy["analysis"] == "primary")
        & (energy["network"] == "static")
    ]
    assert (rows["condition_number"] == float(direct.condition_number)).all()
    row = rows[(rows["from_state"] == 0) & (rows["to_state"] == 1)].iloc[0]
    assert row["energy"] == pytest.approx(float(direct.energy), rel=1e-6)

    # the control set alone is (numerically) singular: the condition number the run's
    # warning prints is the table's, inf where an eigenvalue is zero or negative
    alone = energy[(energy["analysis"] == "control set alone") & (energy["network"] == "static")]
    assert not (alone["condition_number"] <= 1e10).any() and not alone["well_posed"].any()
    assert np.isinf(alone["energy"]).all() and np.isfinite(alone["reachable_energy"]).all()
    records = status[status["stage"] == "energy"].set_index("subject")["warnings"]
    for (subj, value), _ in alone.groupby(["subject", "condition_number"]):
        assert f"condition number up to {condition_text(value)} " in records[subj]
    assert np.isinf(alone["condition_number"]).any()

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
