# %% [markdown]
# # 3 · Network reconfiguration during learning
#
# **What this notebook demonstrates.** The multilayer-community tools of brainctrl are not
# specific to fMRI: any sequence of networks can be analysed. Here the sequence is the
# weight matrix of a small artificial network, saved as it learns, and we ask the
# questions asked of brain networks during learning (Bassett et al. 2011): does the network
# become more modular, which nodes keep changing community (flexibility), how evenly are
# nodes spread over modules (entropy of module sizes), and does modularity go with
# performance?
#
# **The task: continual familiarity detection.** A stream of binary patterns; half of the
# items repeat one of the last 30 new patterns. After each item the network reports
# "seen before" or "new". Patterns are not fully random: the 40 units form 4 groups of 10,
# and each group's part of a pattern is one of 6 group-specific codewords (with 10 %
# of units flipped), so the stream has a planted modular structure.
#
# **The network (pure NumPy, online, one pass).** An auto-associative layer
# `y = tanh(W x)` with a 40 × 40 weight matrix (no self-connections) is trained after every
# item by the delta rule (SGD on `‖x − y‖²`) with a small weight decay, so it keeps
# recently seen patterns; familiar items are reconstructed better. A logistic read-out of
# the reconstruction error, also trained online, reports "seen before". Accuracy is
# measured *before* each update (test-then-train), so it is an honest online score. The
# weight matrix is saved every 50 items.
#
# *Reference:* Bassett DS et al. (2011). Dynamic reconfiguration of human brain networks
# during learning. PNAS 108:7641.

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from brainctrl.graph import modularity_communities
from brainctrl.multilayer import flexibility, module_size_entropy, multilayer_modularity
from brainctrl.plotting import plot_matrix

# %matplotlib inline
plt.rcParams["figure.dpi"] = 90

# %% [markdown]
# ## Parameters

# %%
SEED = 0
N_GROUPS, GROUP_SIZE, N_CODEWORDS = 4, 10, 6  # planted structure of the patterns
FLIP = 0.1  # fraction of units flipped in each new pattern
N_ITEMS = 4000  # length of the stream
REPEAT_PROBABILITY = 0.5
RECENT = 30  # repeats are drawn among the last RECENT new patterns
LEARNING_RATE, DECAY = 0.02, 1e-3  # delta rule and weight decay of W
READOUT_RATE = 0.005  # SGD step of the logistic read-out
SNAPSHOT_EVERY = 50
OMEGA = 0.5  # inter-layer coupling of the multilayer communities

n_units = N_GROUPS * GROUP_SIZE
planted_groups = np.repeat(np.arange(N_GROUPS), GROUP_SIZE)

# %% [markdown]
# ## Train on the stream and save snapshots

# %%
rng = np.random.default_rng(SEED)
codebooks = rng.choice([-1.0, 1.0], size=(N_GROUPS, N_CODEWORDS, GROUP_SIZE))


def new_pattern():
    """A pattern made of one codeword per group, with a few units flipped."""
    words = rng.integers(N_CODEWORDS, size=N_GROUPS)
    pattern = np.concatenate([codebooks[group, word] for group, word in enumerate(words)])
    return np.where(rng.random(n_units) < FLIP, -pattern, pattern)


weights = np.zeros((n_units, n_units))
readout_slope, readout_bias = 0.0, 0.0
seen = []  # the new patterns, in order
correct, is_repeat, errors, snapshots = [], [], [], []
for item in range(N_ITEMS):
    repeat = bool(seen) and rng.random() < REPEAT_PROBABILITY
    x = seen[-1 - rng.integers(min(RECENT, len(seen)))] if repeat else new_pattern()

    # Respond: reconstruction error -> probability of "seen before".
    y = np.tanh(weights @ x)
    error = np.mean((x - y) ** 2)
    probability = 1.0 / (1.0 + np.exp(-(readout_slope * error + readout_bias)))
    correct.append((probability > 0.5) == repeat)
    is_repeat.append(repeat)
    errors.append(error)

    # Learn: logistic read-out, then the delta rule on W (no self-connections).
    gradient = probability - repeat
    readout_slope -= READOUT_RATE * gradient * error
    readout_bias -= READOUT_RATE * gradient
    weights += LEARNING_RATE * np.outer((x - y) * (1.0 - y**2), x)
    np.fill_diagonal(weights, 0.0)
    weights *= 1.0 - DECAY

    if not repeat:
        seen.append(x)
    if (item + 1) % SNAPSHOT_EVERY == 0:
        snapshots.append(weights.copy())

correct = np.array(correct, dtype=float)
is_repeat = np.array(is_repeat)
errors = np.array(errors)
snapshots = np.array(snapshots)  # (n_snapshots, n_units, n_units)
accuracy = correct.reshape(-1, SNAPSHOT_EVERY).mean(axis=1)  # per block of items
items = SNAPSHOT_EVERY * np.arange(1, len(snapshots) + 1)
print(
    f"{len(snapshots)} snapshots; accuracy in the first {SNAPSHOT_EVERY} items "
    f"{accuracy[0]:.2f}, over the last 1000 items {correct[-1000:].mean():.2f}"
)

# %% [markdown]
# **Check (true by construction).** Chance is 50 % (half of the items are repeats). At the
# start `W = 0` and every item is reconstructed equally badly, so the network can only
# guess; after training it must do clearly better: over the last 1000 items the chance
# level lies more than 10 standard errors below the accuracy asserted here.

# %%
assert correct[-1000:].mean() > 0.65
assert correct[-1000:].mean() > correct[:SNAPSHOT_EVERY].mean() + 0.1

fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), layout="constrained")
axes[0].plot(items, accuracy, color="0.6", lw=0.8, label=f"per {SNAPSHOT_EVERY} items")
smooth = np.convolve(correct, np.ones(250) / 250, mode="valid")
axes[0].plot(np.arange(250, N_ITEMS + 1), smooth, color="k", label="running mean (250)")
axes[0].axhline(0.5, color="tab:red", ls="--", lw=0.8, label="chance")
axes[0].set(xlabel="item", ylabel="accuracy", title="familiarity detection, test-then-train")
axes[0].legend()
late = slice(N_ITEMS // 2, None)
axes[1].hist(
    [errors[late][~is_repeat[late]], errors[late][is_repeat[late]]],
    bins=40,
    label=["new", "seen before"],
    histtype="stepfilled",
    alpha=0.6,
)
axes[1].set(
    xlabel="reconstruction error",
    ylabel="items",
    title="familiar items are reconstructed better (second half)",
)
axes[1].legend()
plt.show()

# %% [markdown]
# ## Weight matrices over training
#
# Communities are computed on `|W|` symmetrised, `(|W| + |W|ᵀ)/2`: units that strongly
# influence each other, whether by excitation or inhibition, belong together.

# %%
networks = np.abs(snapshots + snapshots.transpose(0, 2, 1)) / 2
group_names = np.array([f"group {g + 1}" for g in planted_groups])
fig, axes = plt.subplots(1, 4, figsize=(16, 3.8), layout="constrained")
for ax, index in zip(axes, (0, 3, 19, len(networks) - 1)):
    plot_matrix(
        networks[index],
        networks=group_names,
        ax=ax,
        cmap="viridis",
        vmax=float(networks[-1].max()),
        title=f"|W| after {items[index]} items",
    )
plt.show()

# %% [markdown]
# ## Modularity, flexibility and module sizes
#
# * single-layer modularity `Q` of each snapshot (`modularity_communities`);
# * multilayer communities over the ordered snapshots (`multilayer_modularity`, ordinal
#   coupling `ω`), from which each unit's **flexibility** (how often it changes community
#   between consecutive snapshots) and each snapshot's **entropy of module sizes**.

# %%
single = [modularity_communities(network, n_runs=3, random_state=SEED) for network in networks]
modularity = np.array([result.quality for result in single])
multilayer = multilayer_modularity(networks, gamma=1.0, omega=OMEGA, n_runs=3, random_state=SEED)
partition = multilayer.partition  # (n_units, n_snapshots)
unit_flexibility = flexibility(partition)
entropy = module_size_entropy(partition)
n_modules = np.array([len(np.unique(partition[:, t])) for t in range(partition.shape[1])])

# Flexibility in the first and second half of training (unit-wise means).
half = partition.shape[1] // 2
early, late = flexibility(partition[:, :half]).mean(), flexibility(partition[:, half:]).mean()
print(
    f"multilayer Q = {multilayer.quality:.3f}; mean flexibility {unit_flexibility.mean():.3f} "
    f"(first half {early:.3f}, second half {late:.3f})"
)

# %%
fig, axes = plt.subplots(2, 2, figsize=(13, 7), layout="constrained")
axes[0, 0].plot(items, modularity, "k.-")
axes[0, 0].set(xlabel="item", ylabel="modularity Q", title="single-layer modularity of |W|")
axes[0, 1].imshow(
    partition,
    aspect="auto",
    interpolation="nearest",
    cmap="tab20",
    extent=(items[0] - SNAPSHOT_EVERY / 2, items[-1] + SNAPSHOT_EVERY / 2, n_units - 0.5, -0.5),
)
for boundary in range(GROUP_SIZE, n_units, GROUP_SIZE):
    axes[0, 1].axhline(boundary - 0.5, color="w", lw=1)
axes[0, 1].set(
    xlabel="item",
    ylabel="unit (planted groups between white lines)",
    title="multilayer communities",
)
axes[1, 0].bar(np.arange(n_units), unit_flexibility, color=plt.cm.tab10(planted_groups))
axes[1, 0].set(xlabel="unit", ylabel="flexibility", title="flexibility per unit (colour: group)")
axes[1, 1].plot(items, entropy, "k.-", label="entropy of module sizes (bits)")
axes[1, 1].plot(
    items,
    np.log2(n_modules),
    color="tab:blue",
    ls="--",
    label="log2(number of modules): upper bound",
)
axes[1, 1].set(xlabel="item", ylabel="bits", title="module size entropy")
axes[1, 1].legend()
plt.show()

# %% [markdown]
# **Check (true by construction).** The patterns' structure is planted in groups of
# units, so the communities the network's weights settle into should be those groups:
# the adjusted Rand index between the last snapshot's single-layer communities and the
# planted groups is asserted to be high.


# %%
def adjusted_rand_index(labels_a, labels_b):
    """Adjusted Rand index of two partitions (Hubert & Arabie 1985)."""
    table = np.zeros((labels_a.max() + 1, labels_b.max() + 1))
    np.add.at(table, (labels_a, labels_b), 1)
    pairs = lambda counts: (counts * (counts - 1) / 2).sum()  # noqa: E731
    index, rows, columns = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * columns / pairs(np.array([labels_a.size]))
    return (index - expected) / ((rows + columns) / 2 - expected)


agreement = np.array([adjusted_rand_index(planted_groups, result.partition) for result in single])
print(
    f"ARI with the planted groups: first snapshot {agreement[0]:.2f}, "
    f"last snapshot {agreement[-1]:.2f}"
)
assert agreement[-1] > 0.6

# %% [markdown]
# ## Does modularity go with performance?
#
# Each snapshot's modularity against the accuracy on the block of items just before it.
# Both rise over training, so part of any correlation is their shared trend; the partial
# view on the right removes a linear trend in time from both.
# Most of the raw correlation comes from the shared rise early in training; after
# removing linear trends the relation is weaker and depends on the seed of the stream
# (detrended r = 0.44, −0.07 and 0.31 for seeds 0, 1 and 2), so this toy network does not
# show that more modular weights make better familiarity judgements beyond both improving
# with learning.

# %%
r, p = stats.pearsonr(modularity, accuracy)
rho, p_rho = stats.spearmanr(modularity, accuracy)
detrend = lambda v: v - np.polyval(np.polyfit(items, v, 1), items)  # noqa: E731
r_detrended, p_detrended = stats.pearsonr(detrend(modularity), detrend(accuracy))
print(
    f"Pearson r = {r:.2f} (p = {p:.1e}); Spearman rho = {rho:.2f} (p = {p_rho:.1e}); "
    f"after removing linear trends r = {r_detrended:.2f} (p = {p_detrended:.1e})"
)

fig, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
axes[0].plot(items, modularity, "k-", label="modularity Q")
twin = axes[0].twinx()
twin.plot(items, accuracy, color="tab:orange", lw=0.8, label="accuracy")
axes[0].set(xlabel="item", ylabel="modularity Q", title="over training")
twin.set_ylabel("accuracy", color="tab:orange")
points = axes[1].scatter(modularity, accuracy, c=items, cmap="viridis", s=18)
fig.colorbar(points, ax=axes[1], label="item")
axes[1].set(
    xlabel="modularity Q",
    ylabel="accuracy (block before the snapshot)",
    title=f"r = {r:.2f}, Spearman ρ = {rho:.2f}",
)
axes[2].scatter(detrend(modularity), detrend(accuracy), color="0.4", s=18)
axes[2].set(
    xlabel="Q, linear trend removed",
    ylabel="accuracy, linear trend removed",
    title=f"detrended r = {r_detrended:.2f} (p = {p_detrended:.1e})",
)
plt.show()
