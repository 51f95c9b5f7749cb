# %% [markdown]
# # 2 · Controllability in a patient–control comparison
#
# **What this notebook demonstrates.** How to compare the controllability of brain
# networks between two groups and relate it to symptoms, with brainctrl:
#
# 1. average and modal controllability (Gu et al. 2015) of each subject's functional
#    network, read as a discrete-time linear system;
# 2. a region-wise group comparison (GLM with age, sex and head motion as covariates,
#    Benjamini–Hochberg FDR across regions) and maps of the significant regions;
# 3. sparse canonical correlation analysis (Witten et al. 2009) between regional
#    controllability and six symptom scores, with a permutation test on held-out
#    correlations and bootstrap stability of the selected weights; loadings plots.
#
# The synthetic cohort (`brainctrl.datasets.make_cohort`) has a **known ground truth**: in
# patients, 8 regions (`cohort.truth.group_regions`) are decoupled from their network,
# and the coupling of 10 other regions (`cohort.truth.symptom_regions`) scales with a latent
# symptom factor that three of the six symptom scores load on. The notebook checks that
# both are recovered. The commented cell shows how to run it on HCP-style data.
#
# *References:* Gu S et al. (2015). Controllability of structural brain networks. Nat
# Commun 6:8414. Witten DM, Tibshirani R, Hastie T (2009). A penalized matrix
# decomposition, with applications to sparse principal components and canonical
# correlation analysis. Biostatistics 10:515.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from brainctrl.connectivity import functional_connectivity
from brainctrl.control import average_controllability, modal_controllability, normalize_adjacency
from brainctrl.datasets import make_cohort
from brainctrl.plotting import (
    plot_group_results,
    plot_loadings,
    plot_matrix,
    plot_network_values,
    plot_region_values,
)
from brainctrl.stats import (
    SparseCCA,
    bootstrap_stability,
    group_comparison,
    sparse_cca_permutation_test,
)

# %matplotlib inline
plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## Parameters and data

# %%
SEED = 1
N_SUBJECTS = 120  # two groups of 60
N_REGIONS = 100  # Schaefer-100-like regions in Yeo-7 networks
N_TIMEPOINTS = 400
ALPHA = 0.05  # FDR level
PENALTY_X, PENALTY_Y = 0.2, 0.5  # sparse-CCA L1 bounds (fraction of sqrt(n_features))
N_PERMUTATIONS = 99
N_BOOTSTRAPS = 50
# The generator's effect sizes are given explicitly (not left to the defaults), so the
# checks against the ground truth below refer to a fixed, documented cohort.
COHORT_OPTIONS = dict(
    group_effect=0.6,
    subject_variation=0.04,
    symptom_effect=0.5,
    behaviour_r2=0.5,
    mean_dwell=60.0,
    min_dwell=25.0,
    orthogonal_symptom_factor=False,
)

cohort = make_cohort(
    N_SUBJECTS, N_REGIONS, N_TIMEPOINTS, scale="standardized", random_state=SEED, **COHORT_OPTIONS
)
runs = [cohort.run(subject) for subject in cohort.subjects]
regions = cohort.regions
phenotype = cohort.phenotype.set_index("subject")
symptoms = [column for column in phenotype if column.startswith("symptom_")]
truth = cohort.truth

# --- HCP-style data instead (edit the paths; one run per subject) -------------------------
# from brainctrl.io import load_manifest
# manifest = load_manifest("data_manifests/hcp_s1200_rest_schaefer400.yaml", root="/data/HCP")
# first_runs = {}
# for spec in manifest.runs():
#     first_runs.setdefault(spec.subject, spec)
# runs = [manifest.load_run(spec) for spec in first_runs.values()]
# regions = runs[0].regions
# phenotype = manifest.load_phenotype().set_index("subject")  # group, age, sex, motion ...
# symptoms = ["..."]  # symptom or clinical score columns
# truth = None        # no ground truth: skip the checks against it
# -----------------------------------------------------------------------------------------

subjects = [run.subject for run in runs]
phenotype = phenotype.loc[subjects]
print(phenotype["group"].value_counts().to_string())
phenotype.head()

# %% [markdown]
# ## 1. Controllability of each subject's functional network
#
# FC is the Pearson correlation over the run with the diagonal set to zero; the system
# matrix is `A = FC / (1 + ρ(FC))` (`normalize_adjacency(..., system="discrete")`), so
# every eigenvalue has modulus below 1. Average controllability of region *i* is the trace
# of the infinite-horizon Gramian with input at *i* alone; modal controllability
# `Σ_j (1 − λ_j²) v_ij²`.

# %%
fc = functional_connectivity([run.timeseries for run in runs])
n_regions = fc.shape[-1]
fc[:, np.arange(n_regions), np.arange(n_regions)] = 0.0
system = normalize_adjacency(fc, system="discrete")
names = regions["name"].tolist()
average = pd.DataFrame(
    average_controllability(system, system="discrete"), index=subjects, columns=names
)
modal = pd.DataFrame(modal_controllability(system), index=subjects, columns=names)
features = pd.concat({"average": average, "modal": modal}, axis=1)  # (measure, region) columns

groups = phenotype["group"].to_numpy()
control_label, patient_label = sorted(set(groups))
fig, axes = plt.subplots(1, 3, figsize=(16, 4), layout="constrained")
plot_matrix(
    fc[groups == control_label].mean(0),
    networks=regions["network"],
    title="mean FC, controls",
    ax=axes[0],
)
plot_network_values(
    average.mean().to_numpy(), regions, ax=axes[1], title="average controllability (all subjects)"
)
plot_network_values(
    modal.mean().to_numpy(), regions, ax=axes[2], title="modal controllability (all subjects)"
)
plt.show()

# %% [markdown]
# ## 2. Region-wise group comparison
#
# One GLM per region and measure, `value ~ group + age + sex + motion`, testing the group
# term; p-values are FDR-corrected across regions within each measure (the default
# family). Motion is the mean framewise displacement.

# %%
results = group_comparison(features, phenotype, covariates=["age", "sex", "motion"])
significant = results.query("p_fdr < @ALPHA")
print(
    significant.groupby("measure")["region"].count().rename("FDR-significant regions").to_string()
)
display(
    significant.sort_values("p")[["measure", "region", "t", "p", "p_fdr", "cohen_d"]]
    .head(12)
    .round(4)
)

# %%
fig, axes = plt.subplots(2, 1, figsize=(12, 5.5), layout="constrained")
for ax, (measure, table) in zip(axes, results.groupby("measure")):
    plot_group_results(
        table,
        alpha=ALPHA,
        ax=ax,
        title=f"{measure} controllability, {patient_label} − {control_label} (red: FDR < {ALPHA})",
    )
plt.show()

for measure, table in results.groupby("measure"):
    # |t| of the significant regions, 0 elsewhere (the lightest colour); the sign is
    # that of the bar plots above.
    by_region = table.set_index("region").loc[names]
    t_map = by_region["t"].abs().where(by_region["p_fdr"] < ALPHA, 0.0)
    plot_region_values(
        t_map.to_numpy(),
        regions,
        cmap="Reds",
        title=f"{measure} controllability: |t| of FDR-significant regions",
    )
    plt.show()

# %% [markdown]
# **Check against the ground truth.** The planted group regions should stand out: for
# each measure, at least 6 of the 8 regions with the largest |t| are planted, and over
# both measures at least 6 of the 8 planted regions are FDR-significant. On this cohort
# the planted regions are exactly the 8 largest |t| of both measures; with other seeds of
# the generator (2, 3, 4) 6 to 8 of them were, so the check leaves that much slack.
#
# How many *other* regions become significant varies more: decoupling a region changes the
# network modes it belonged to, and with them the controllability of other regions of its
# network (modal controllability depends on the whole eigenbasis). For seeds 3 and 4, 18
# to 20 further regions were significant for one of the measures. These are real group
# differences in controllability, just not where the coupling was changed, so no
# precision is asserted.

# %%
if truth is not None:
    planted = set(truth.group_regions)
    recovered = set()
    for measure, table in results.groupby("measure"):
        found = set(table.query("p_fdr < @ALPHA")["region"])
        largest = set(table.assign(size=table["t"].abs()).nlargest(len(planted), "size")["region"])
        recovered |= found & planted
        print(
            f"{measure}: {len(found & planted)} of {len(planted)} planted regions significant, "
            f"{len(found - planted)} other regions significant; "
            f"{len(largest & planted)} planted among the {len(planted)} largest |t|"
        )
        assert len(largest & planted) >= 6
    print(f"planted regions significant for at least one measure: {len(recovered)}")
    assert len(recovered) >= 6

# %% [markdown]
# ## 3. Sparse CCA between controllability and symptoms
#
# `X` holds both controllability measures of every region (200 columns), `Y` the six
# symptom scores. The penalties bound the L1 norms of the canonical weights
# (`‖u‖₁ ≤ c_x √p`), so only a few regions and symptoms get non-zero weights. The
# permutation test refits the whole procedure on permuted symptom rows and uses the
# **held-out** canonical correlation (5-fold), which does not grow with model flexibility;
# group, age, sex and motion are removed from both sides first. The test and the
# bootstrap take the estimator and refit copies of it with the same penalties.

# %%
X = features.to_numpy()
Y = phenotype[symptoms].to_numpy(float)
covariates = pd.get_dummies(
    phenotype[["group", "age", "sex", "motion"]], drop_first=True, dtype=float
).to_numpy()

cca = SparseCCA(PENALTY_X, PENALTY_Y).fit(X, Y)
x_weights = pd.Series(cca.x_weights_[:, 0], index=[f"{m} {r}" for m, r in features.columns])
y_weights = pd.Series(cca.y_weights_[:, 0], index=symptoms)
print(
    f"in-sample canonical correlation {cca.canonical_correlations_[0]:.2f}; "
    f"{(x_weights != 0).sum()} brain features and {(y_weights != 0).sum()} symptoms selected"
)

permutation = sparse_cca_permutation_test(
    cca,
    X,
    Y,
    n_permutations=N_PERMUTATIONS,
    covariates=covariates,
    random_state=SEED,
)
print(
    f"held-out canonical correlation {permutation.statistic:.2f}, "
    f"permutation p = {permutation.p_value:.3f}"
)

stability = bootstrap_stability(cca, X, Y, n_bootstraps=N_BOOTSTRAPS, random_state=SEED)
frequency = pd.Series(stability.x_frequency[:, 0], index=x_weights.index)

# %%
fig = plt.figure(figsize=(15, 4.5), layout="constrained")
grid = fig.add_gridspec(1, 4)
ax = fig.add_subplot(grid[0])
ax.hist(permutation.null_distribution, bins=20, color="0.7")
ax.axvline(permutation.statistic, color="tab:red")
ax.set(
    xlabel="held-out canonical correlation",
    ylabel="permutations",
    title=f"permutation test, p = {permutation.p_value:.3f}",
)
plot_loadings(
    x_weights.to_numpy(),
    x_weights.index,
    ax=fig.add_subplot(grid[1]),
    title="brain weights (u)",
    top=15,
)
plot_loadings(
    y_weights.to_numpy(), y_weights.index, ax=fig.add_subplot(grid[2]), title="symptom weights (v)"
)
ax = fig.add_subplot(grid[3])
top = frequency.sort_values(ascending=False).head(15)[::-1]
ax.barh(top.index, top.to_numpy(), color="0.5")
ax.tick_params(axis="y", labelsize=7)
ax.set(xlabel="selection frequency", title=f"bootstrap stability ({N_BOOTSTRAPS} resamples)")
plt.show()

region_weight = pd.Series(np.abs(cca.x_weights_[:, 0]).reshape(2, -1).sum(0), index=names)
plot_region_values(
    region_weight.to_numpy(),
    regions,
    cmap="Reds",
    title="|sparse-CCA weight| per region (both measures)",
)
plt.show()

# %% [markdown]
# **Check against the ground truth.** The selected brain features should sit in the
# planted symptom regions, and the selected symptoms should be among those that load on
# the latent symptom factor. Both hold for this cohort, and the held-out association is
# significant. This is a check of one fixed cohort, not a guarantee: with 120 subjects and
# this effect size the association was found for generator seeds 1 and 2 but missed for
# seeds 3 and 4 (held-out r near 0, permutation p > 0.5); with 200 subjects seed 4 still
# missed it and seed 3 reached p = 0.05 with only 6 of 19 selected regions planted. Sparse
# CCA with a hundred-odd subjects is underpowered for effects of this size; the held-out
# permutation test is what tells a real association from a fitted one.

# %%
if truth is not None:
    selected_regions = {
        region for (measure, region), w in zip(features.columns, cca.x_weights_[:, 0]) if w != 0
    }
    planted_regions = set(truth.symptom_regions)
    loaded = {name for name, loading in truth.symptom_loadings.items() if loading > 0}
    selected_symptoms = set(y_weights[y_weights != 0].index)
    print(
        f"selected regions in the planted set: {len(selected_regions & planted_regions)} "
        f"of {len(selected_regions)} (planted: {len(planted_regions)})"
    )
    print(f"selected symptoms {sorted(selected_symptoms)}; loaded symptoms {sorted(loaded)}")
    stable = frequency[frequency >= 0.5].index
    print(
        f"regions selected in at least half of the resamples: "
        f"{sorted({name.split(' ', 1)[1] for name in stable})}"
    )
    assert permutation.p_value < 0.05
    assert len(selected_regions & planted_regions) >= 0.8 * len(selected_regions)
    assert selected_symptoms <= loaded
