# %% [markdown]
# # 1 · Static versus dynamic connectivity: the energy of brain-state transitions
#
# **What this notebook demonstrates.** Functional connectivity (FC) can be read as the
# system matrix of a linear network model, and the minimum energy needed to steer the
# brain from one activity state to another can be compared between a *static* network
# (one FC over the whole transition) and a *time-varying* one (a sequence of
# sliding-window FCs). Deng et al. (2022) found that the dynamic network needs less
# energy. This notebook reproduces that analysis step by step with brainctrl:
#
# 1. static and sliding-window FC per subject;
# 2. brain states from activity (k-means of frames);
# 3. energy of transitions between states through the **Default-network** control set,
#    static versus dynamic, per subject, with a paired Wilcoxon test;
# 4. in two modes: a **compatibility mode** that replicates the original study's choices
#    (signed-Laplacian system, ½ factor, pseudo-inverse with MATLAB's default tolerance,
#    random horizon: `compat="deng2022"`) and brainctrl's **exact mode**, each transition's
#    Gramian condition number and unreached fraction of the target printed next to its energy;
# 5. two baselines that tell whether the effect is about the default-mode network at all:
#    all regions controlled, and random control sets of the same size;
# 6. graph measures and control measures as features predicting a behaviour score, with
#    graph-only, control-only and combined feature sets compared on identical
#    cross-validation splits by the corrected resampled t-test.
#
# It runs on a small synthetic cohort (`brainctrl.datasets.make_cohort`) in about a
# minute; the cell below shows how to run the same analysis on HCP data through a manifest.
#
# *Reference:* Deng S, Li J, Thomas Yeo BT, Gu S (2022). Control theory illustrates the
# energy efficiency in the dynamic reconfiguration of functional connectivity.
# Communications Biology 5:295.

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from scipy import stats

from brainctrl.connectivity import (
    BrainStates,
    functional_connectivity,
    sliding_window_connectivity,
)
from brainctrl.control import (
    average_controllability,
    control_set,
    fc_to_system,
    minimum_energy,
    modal_controllability,
    normalize_adjacency,
    time_varying_energy,
)
from brainctrl.datasets import make_cohort
from brainctrl.exceptions import IllConditionedWarning, UnreachableTargetWarning
from brainctrl.graph import graph_measures
from brainctrl.plotting import (
    plot_energy_comparison,
    plot_matrix,
    plot_network_values,
    plot_prediction,
)
from brainctrl.stats import compare_feature_sets, predict_behaviour

# %matplotlib inline
plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## Parameters and data
#
# The synthetic cohort is small so the notebook runs in CI; every step works unchanged on
# real data. To use HCP (or any dataset with a manifest), replace the next cell's
# `make_cohort` block by the commented lines: `runs` is a list of
# `brainctrl.io.RunData` (one run per subject here), `regions` the region table with a
# `network` column (Yeo-7 labels, `"Default"` for the control set) and `phenotype` a table
# with `subject` and the behaviour score.

# %%
SEED = 0
N_SUBJECTS = 60  # HCP: hundreds
N_REGIONS = 50  # Schaefer-like regions in Yeo-7 networks
N_TIMEPOINTS = 400  # frames per run (HCP: 1200 at TR 0.72 s)
WINDOW = 20  # frames between dynamic-FC window starts (see section 3)
MAX_WINDOWS = 6  # each transition spans 2 .. MAX_WINDOWS windows
TRANSITIONS_PER_SUBJECT = 2
HORIZON_RANGE = (0.1, 600.0)  # horizons drawn at random, as in the original study
N_RANDOM_SETS = 4  # random control sets of the Default network's size
SCORE = "score"
# The generator's effect sizes are given explicitly (not left to the defaults), so the
# checks against the ground truth below refer to a fixed, documented cohort.
COHORT_OPTIONS = dict(
    group_effect=0.6,
    subject_variation=0.04,
    symptom_effect=0.5,
    behaviour_r2=0.5,
    mean_dwell=60.0,
    min_dwell=25.0,
)

cohort = make_cohort(
    N_SUBJECTS,
    N_REGIONS,
    N_TIMEPOINTS,
    n_states=3,
    scale="standardized",
    random_state=SEED,
    **COHORT_OPTIONS,
)
runs = [cohort.run(subject) for subject in cohort.subjects]
regions = cohort.regions
phenotype = cohort.phenotype.set_index("subject")
truth = cohort.truth

# --- HCP instead (edit the paths; one run per subject is used) ---------------------------
# from brainctrl.io import load_manifest
# manifest = load_manifest("data_manifests/hcp_s1200_rest_schaefer400.yaml", root="/data/HCP")
# first_runs = {}
# for spec in manifest.runs():
#     first_runs.setdefault(spec.subject, spec)
# runs = [manifest.load_run(spec) for spec in first_runs.values()]
# regions = runs[0].regions
# phenotype = manifest.load_phenotype().set_index("subject")
# SCORE = "CogTotalComp_Unadj"  # any column of the phenotype table
# truth = None  # no ground truth
# -----------------------------------------------------------------------------------------

subjects = [run.subject for run in runs]
networks = regions["network"].to_numpy()
rng = np.random.default_rng(SEED)
print(
    f"{len(runs)} subjects, {runs[0].timeseries.shape[1]} regions, "
    f"{runs[0].timeseries.shape[0]} frames, TR {runs[0].t_r} s"
)

# %% [markdown]
# ## 1. Static and sliding-window functional connectivity
#
# Each region is z-scored over the run (as in the original study). Static FC is the Pearson
# correlation over the whole run; dynamic FC the correlation in windows of `WINDOW` frames.

# %%
timeseries = [stats.zscore(run.timeseries, axis=0) for run in runs]
static_fc = functional_connectivity(timeseries)  # (n_subjects, n_regions, n_regions)
dynamic_fc = [sliding_window_connectivity(x, WINDOW, WINDOW) for x in timeseries]

fig, axes = plt.subplots(1, 4, figsize=(15, 3.6), layout="constrained")
plot_matrix(static_fc[0], networks=networks, title=f"static FC, subject {subjects[0]}", ax=axes[0])
for ax, k in zip(axes[1:], (0, len(dynamic_fc[0]) // 2, len(dynamic_fc[0]) - 1)):
    plot_matrix(dynamic_fc[0][k], networks=networks, title=f"window {k}", ax=ax, vmax=1)
plt.show()

# How far does each window's FC stray from the static FC?
upper = np.triu_indices(static_fc.shape[-1], 1)
similarity = np.array(
    [
        [np.corrcoef(window[upper], static_fc[s][upper])[0, 1] for window in dynamic_fc[s]]
        for s in range(len(runs))
    ]
)
fig, ax = plt.subplots(figsize=(7, 2.8))
ax.plot(similarity.T, color="0.6", lw=0.5)
ax.plot(similarity.mean(0), color="k", lw=2, label="mean over subjects")
ax.set(xlabel="window", ylabel="r(window FC, static FC)", title="FC fluctuates around its mean")
ax.legend()
plt.show()

# %% [markdown]
# ## 2. Brain states from activity
#
# Frames of all subjects are clustered with k-means (`BrainStates(kind="activity")`); the
# centroids are recurring activity patterns and each frame gets a state label. The
# transitions analysed below start in one state and end in another.

# %%
states = BrainStates(3, kind="activity", n_init=3, random_state=SEED).fit(timeseries)
labels = states.labels_
occupancy = states.fractional_occupancy().mean(0)

fig, axes = plt.subplots(1, 3, figsize=(15, 3.2), layout="constrained")
for k, ax in enumerate(axes):
    plot_network_values(
        states.centroids_[k],
        regions,
        ax=ax,
        title=f"state {k + 1} ({100 * occupancy[k]:.0f} % of frames)",
    )
plt.show()

fig, ax = plt.subplots(figsize=(9, 1.8))
ax.imshow(np.array(labels[:8]), aspect="auto", interpolation="nearest", cmap="tab10", vmax=9)
ax.set(xlabel="frame", ylabel="subject", title="state sequences (first 8 subjects)")
plt.show()

# %% [markdown]
# ## 3. Transitions and their systems
#
# For each subject, `TRANSITIONS_PER_SUBJECT` spans of 2 … `MAX_WINDOWS` windows are drawn
# at random among those whose first and last frames are in different states. As in the
# original study's code, a span of `n_windows` windows covers `n_windows · WINDOW + 1`
# frames; `x0` and `xf` are its first and last (z-scored) frames, the *static* network is
# the FC of all its frames, and the *dynamic* network the FC of each window, held for
# `horizon / n_windows`. Window k covers frames `k · WINDOW … (k + 1) · WINDOW`, both ends
# included, so neighbouring windows share their boundary frame (a window of `WINDOW + 1`
# frames every `WINDOW` frames). FC entries with uncorrected p > 0.05 are set to 0 and the
# system is the normalised signed Laplacian `A = -L / max|λ(L)|` (`fc_to_system`). The
# horizon is drawn log-uniformly in `HORIZON_RANGE`.

# %%
transitions = []
for s, x in enumerate(timeseries):
    drawn = 0
    for _ in range(200):
        if drawn == TRANSITIONS_PER_SUBJECT:
            break
        n_windows = int(rng.integers(2, MAX_WINDOWS + 1))
        span = n_windows * WINDOW + 1
        start = int(rng.integers(0, len(x) - span + 1))
        first, last = labels[s][start], labels[s][start + span - 1]
        if first == last:
            continue
        segment = x[start : start + span]
        transitions.append(
            dict(
                subject=subjects[s],
                start=start,
                n_windows=n_windows,
                horizon=float(np.exp(rng.uniform(*np.log(HORIZON_RANGE)))),
                from_state=int(first) + 1,
                to_state=int(last) + 1,
                A_static=fc_to_system(functional_connectivity(segment), n_samples=span),
                A_dynamic=fc_to_system(
                    sliding_window_connectivity(segment, WINDOW + 1, WINDOW),
                    n_samples=WINDOW + 1,
                ),
                x0=segment[0],
                xf=segment[-1],
            )
        )
        drawn += 1
info = pd.DataFrame(transitions).drop(columns=["A_static", "A_dynamic", "x0", "xf"])
print(f"{len(transitions)} transitions")
info.head()

# %% [markdown]
# ## 4. Energies with their numerical health
#
# `minimum_energy` (static) and `time_varying_energy` (dynamic) return an `EnergyResult`
# with the energy, the Gramian's condition number and rank, and the **terminal error**
# `‖x(T) − xf‖ / ‖xf − e^{AT} x0‖`: the fraction of the target the optimal input fails to
# reach. With a Default-network control set (a quarter of the regions) the Gramians are
# numerically singular, which brainctrl reports as `IllConditionedWarning` and
# `UnreachableTargetWarning`. These warnings are the point of this section, so they are
# recorded and counted rather than shown one by one.


# %%
def transition_energies(control, compat, label):
    """Static and dynamic energy of every transition for one control set and mode."""
    rows = []
    for t in transitions:
        static = minimum_energy(
            t["A_static"], t["x0"], t["xf"], control, horizon=t["horizon"], compat=compat
        )
        dynamic = time_varying_energy(
            t["A_dynamic"], t["horizon"] / t["n_windows"], t["x0"], t["xf"], control, compat=compat
        )
        rows.append(
            dict(
                subject=t["subject"],
                control=label,
                mode=compat or "exact",
                static=float(static.energy),
                dynamic=float(dynamic.energy),
                cond_static=float(static.condition_number),
                cond_dynamic=float(dynamic.condition_number),
                rank_static=int(static.rank),
                rank_dynamic=int(dynamic.rank),
                unreached_static=float(static.terminal_error),
                unreached_dynamic=float(dynamic.terminal_error),
            )
        )
    return pd.DataFrame(rows)


default_set = control_set(regions, "Default")
other = np.flatnonzero(~default_set)
random_sets = [
    np.sort(rng.choice(other, default_set.sum(), replace=False)) for _ in range(N_RANDOM_SETS)
]
control_sets = {"Default": default_set, "all regions": None}
control_sets.update({f"random {i + 1}": c for i, c in enumerate(random_sets)})

results = []
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    for name, control in control_sets.items():
        for compat in ("deng2022", None):
            results.append(transition_energies(control, compat, name))
energies = pd.concat(results, ignore_index=True)
energies["ratio"] = energies["dynamic"] / energies["static"]

kinds = pd.Series([type(w.message).__name__ for w in caught]).value_counts()
print("warnings raised while computing the energies:\n" + kinds.to_string())
print(
    "\nexample:",
    next(str(w.message) for w in caught if issubclass(w.category, IllConditionedWarning))[:300],
)
# brainctrl says when an energy cannot be trusted: both warnings must have been raised.
assert any(issubclass(w.category, IllConditionedWarning) for w in caught)
assert any(issubclass(w.category, UnreachableTargetWarning) for w in caught)

# %% [markdown]
# Each Default-network transition, compatibility mode, with its energy next to the numbers
# that say whether it can be trusted:

# %%
columns = [
    "subject",
    "static",
    "cond_static",
    "rank_static",
    "unreached_static",
    "dynamic",
    "cond_dynamic",
    "unreached_dynamic",
    "ratio",
]
view = energies.query("control == 'Default' and mode == 'deng2022'")[columns]
with pd.option_context("display.float_format", "{:.2e}".format):
    display(view.head(10))

# %% [markdown]
# ## 5. Static versus dynamic, per subject, with a paired test
#
# Per subject the energies of its transitions are averaged on a log scale (geometric mean);
# the Wilcoxon signed-rank test compares dynamic with static energy across subjects.


# %%
def per_subject(frame):
    """Geometric mean of the energies (and condition numbers) of each subject."""
    # Singular Gramians (condition number inf) are shown at 1e17 in the colour scale.
    logs = frame.assign(
        static=np.log10(frame["static"]),
        dynamic=np.log10(frame["dynamic"]),
        condition_number=np.log10(np.minimum(frame["cond_static"], 1e17)),
    )
    means = logs.groupby("subject")[["static", "dynamic", "condition_number"]].mean()
    return 10.0**means


summary = []
for (name, mode), frame in energies.groupby(["control", "mode"], sort=False):
    subject_table = per_subject(frame)
    test = stats.wilcoxon(subject_table["dynamic"], subject_table["static"])
    summary.append(
        dict(
            control=name,
            mode=mode,
            median_ratio=float(np.median(subject_table["dynamic"] / subject_table["static"])),
            dynamic_lower=float(np.mean(subject_table["dynamic"] < subject_table["static"])),
            wilcoxon_p=float(test.pvalue),
            median_cond_static=float(frame["cond_static"].median()),
            unreached_static_over_1e6=float(np.mean(frame["unreached_static"] > 1e-6)),
        )
    )
summary = pd.DataFrame(summary)
with pd.option_context("display.float_format", "{:.2g}".format):
    display(summary)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
for ax, mode in zip(axes, ("deng2022", "exact")):
    frame = energies.query("control == 'Default' and mode == @mode")
    plot_energy_comparison(per_subject(frame), ax=ax)
    row = summary.query("control == 'Default' and mode == @mode").iloc[0]
    ax.set_title(
        f"Default set, {mode}: median ratio {row.median_ratio:.1e}, "
        f"Wilcoxon p = {row.wilcoxon_p:.1e}",
        fontsize=9,
    )
plt.show()

# %% [markdown]
# ## 6. The ratio follows the conditioning, not the network
#
# If the dynamic advantage were a property of the default-mode network, random control
# sets of the same size would not show it, and controlling all regions would not matter.
# The ratio is plotted against the static Gramian's condition number, transition by
# transition, and for each control set.

# %%
exact = energies.query("mode == 'exact'")
rho = stats.spearmanr(np.log10(exact["cond_static"]), np.log10(exact["ratio"])).statistic

fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), layout="constrained")
for name, frame in exact.groupby("control", sort=False):
    axes[0].scatter(
        frame["cond_static"],
        frame["ratio"],
        s=10,
        label=name,
        color="k" if name == "Default" else ("tab:green" if name == "all regions" else None),
    )
axes[0].set(
    xscale="log",
    yscale="log",
    xlabel="cond(W), static (inf not shown)",
    ylabel="dynamic / static energy",
    title=f"exact mode, Spearman ρ = {rho:.2f}",
)
axes[0].legend(fontsize=7)

order = list(control_sets)
data = [np.log10(exact.query("control == @name")["ratio"]) for name in order]
axes[1].boxplot(data, tick_labels=order, showfliers=False)
axes[1].axhline(0, color="k", lw=0.5)
axes[1].set(ylabel="log10 dynamic / static", title="ratio by control set (exact mode)")
axes[1].tick_params(axis="x", rotation=45)

default = energies.query("control == 'Default'")
for mode, frame in default.groupby("mode"):
    axes[2].hist(
        np.log10(np.maximum(frame["unreached_static"], 1e-16)), bins=30, alpha=0.6, label=mode
    )
axes[2].axvline(-6, color="k", ls="--", lw=0.8)
axes[2].set(
    xlabel="log10 unreached fraction of the target (static)",
    ylabel="transitions",
    title="Default set: how much of xf is missed",
)
axes[2].legend()
plt.show()

# %% [markdown]
# **Checks that hold by construction.** With every region controlled the Gramians are well
# conditioned: every target is reached, and the compatibility mode's energy is exactly half
# of brainctrl's (its ½ factor), because the pseudo-inverse then equals the inverse. With a
# quarter of the regions controlled, conditioning is many orders of magnitude worse.

# %%
everything = energies.query("control == 'all regions'")
exact_all = everything.query("mode == 'exact'").reset_index(drop=True)
compat_all = everything.query("mode == 'deng2022'").reset_index(drop=True)
assert (exact_all[["unreached_static", "unreached_dynamic"]] < 1e-6).all().all()
np.testing.assert_allclose(compat_all["static"], exact_all["static"] / 2, rtol=1e-6)
np.testing.assert_allclose(compat_all["dynamic"], exact_all["dynamic"] / 2, rtol=1e-6)
default_exact = energies.query("control == 'Default' and mode == 'exact'")
assert default_exact["cond_static"].median() > 1e4 * exact_all["cond_static"].median()
# Well-conditioned systems show a ratio near 1; the small ratios come with the bad conditioning.
ratios = summary.query("mode == 'exact'").set_index("control")["median_ratio"]
assert ratios["all regions"] > 10 * ratios["Default"]
print(
    "median cond(W) static: all regions "
    f"{exact_all['cond_static'].median():.1e}, Default {default_exact['cond_static'].median():.1e}"
)

# %% [markdown]
# ## 7. Predicting behaviour from graph and control measures
#
# Features from each subject's static FC (whole run, diagonal zero):
#
# * **graph**: strength, local efficiency and participation (Yeo networks as modules) per region;
# * **control**: average and modal controllability per region, of the discrete-time system
#   `normalize_adjacency(FC)` (the signed Laplacian has a zero eigenvalue, for which the
#   infinite-horizon average controllability is not finite);
# * **combined**: both.
#
# All three sets are evaluated by ridge regression with the same outer splits (5-fold × 5
# repeats), the same inner splits and the same penalty grid, so no set gets more candidate
# models than another; pairs are compared with the corrected resampled t-test
# (Nadeau & Bengio 2003).

# %%
adjacency = static_fc.copy()
adjacency[:, np.arange(adjacency.shape[-1]), np.arange(adjacency.shape[-1])] = 0.0
modules = pd.factorize(regions["network"])[0]
graph_table = graph_measures(
    adjacency,
    modules,
    regions=regions,
    measures=["strength", "local_efficiency", "participation"],
    batch_names=("subject",),
)
graph_features = graph_table[["strength", "local_efficiency", "participation"]].unstack("region")
system = normalize_adjacency(adjacency, system="discrete")
control_features = np.hstack([average_controllability(system), modal_controllability(system)])

target = phenotype.loc[subjects, SCORE].to_numpy(float)
feature_sets = {
    "graph": graph_features.to_numpy(),
    "control": control_features,
    "combined": np.hstack([graph_features.to_numpy(), control_features]),
}
comparison = compare_feature_sets(feature_sets, target, cv=5, n_repeats=5, random_state=SEED)
comparison.summary()

# %%
comparison.pairs[
    ["feature_set_a", "feature_set_b", "mean_a", "mean_b", "t", "p", "naive_t", "naive_p"]
].round(3)

# %%
combined = predict_behaviour(feature_sets["combined"], target, cv=5, random_state=SEED)
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
scores = comparison.scores
for _, split in scores.groupby(["repeat", "fold"]):
    axes[0].plot(split["feature_set"], split["r"], color="0.7", lw=0.5)
axes[0].boxplot(
    [scores.query("feature_set == @n")["r"] for n in feature_sets],
    positions=range(3),
    tick_labels=list(feature_sets),
    showfliers=False,
)
axes[0].set(ylabel="held-out r", title="same splits for every feature set")
plot_prediction(
    combined.observed[0],
    combined.predictions[0],
    ax=axes[1],
    title=f"combined features, mean r over folds = {combined.statistic:.2f}",
)
plt.show()

# %% [markdown]
# The synthetic score is driven by the strength of the Default and Control networks'
# coupling (population R² = 0.5 is the ceiling any predictor can reach); with this few
# subjects the cross-validated correlation is modest and noisy, which is exactly why the
# feature sets are compared on identical splits with a corrected test instead of by their
# best score. Two properties hold by construction: every set was scored on the same 25
# splits, and the corrected test is never more confident than the naive paired t-test
# (its variance is inflated by `n_test / n_train`).

# %%
splits = comparison.scores.groupby("feature_set")[["repeat", "fold", "n_test"]]
reference = comparison.scores.query("feature_set == 'graph'")[["repeat", "fold", "n_test"]]
for _, frame in splits:
    assert len(frame) == 25
    np.testing.assert_array_equal(frame.to_numpy(), reference.to_numpy())
pairs = comparison.pairs
assert (pairs["p"] >= pairs["naive_p"] - 1e-12).all()
print(
    "mean held-out r per feature set:\n"
    + comparison.scores.groupby("feature_set")["r"].mean().round(3).to_string()
)
if truth is not None:
    print(f"ceiling r = {np.sqrt(truth.behaviour_r2):.2f}")
