"""Controllability and energies on structural connectomes, through ``brainctrl run``.

A cohort whose time series come as TSV files and whose structural
connectomes come as files of the kinds diffusion pipelines write: NumPy
``.npy``, MATLAB ``.mat`` holding the connectome beside a distance matrix, and
CSV with region names in another order than the region table. The numbers the
pipeline writes are checked against nctpy 1.2.0 run on the same matrices.
"""

import shutil

import numpy as np
import pandas as pd
import pytest
import scipy.io
import yaml
from nctpy.energies import minimum_energy_fast
from nctpy.metrics import ave_control, modal_control
from nctpy.utils import matrix_normalization

from brainctrl.cli import main
from brainctrl.datasets import make_cohort, write_demo_dataset
from brainctrl.io import load_connectivity, load_manifest, load_timeseries

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(
        "ignore::brainctrl.exceptions.UnreachableTargetWarning",
        "ignore::brainctrl.exceptions.IllConditionedWarning",
        "ignore::brainctrl.exceptions.OrientationWarning",
    ),
]

N_SUBJECTS, N_REGIONS, N_FRAMES = 6, 24, 150


def _connectome(coords, rng):
    """A structural connectome as tractography gives: sparse, distance-dependent, positive."""
    distance = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    probability = np.exp(-distance / 40.0)
    upper = np.triu(rng.random(distance.shape) < probability, 1)
    weights = np.triu(rng.lognormal(mean=3.0, sigma=1.0, size=distance.shape), 1) * upper
    return weights + weights.T, distance


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("structural_source")
    cohort = make_cohort(
        n_subjects=N_SUBJECTS, n_regions=N_REGIONS, n_timepoints=N_FRAMES, random_state=5
    )
    manifest = write_demo_dataset(root, cohort=cohort)
    regions = pd.read_csv(root / "regions.tsv", sep="\t")
    coords = regions[["x", "y", "z"]].to_numpy(float)
    rng = np.random.default_rng(11)
    connectomes = {}
    for subject in sorted(p.name.removeprefix("sub-") for p in root.glob("sub-*")):
        connectomes[subject] = _connectome(coords, rng)
    return manifest, connectomes, list(regions["name"])


def _write(tmp_path, cohort, kind):
    """The cohort with one connectome file per subject, in ``kind`` form."""
    manifest, connectomes, names = cohort
    root = tmp_path / kind
    shutil.copytree(manifest.parent, root)
    content = yaml.safe_load((root / manifest.name).read_text())
    rng = np.random.default_rng(0)
    for subject, (sc, distance) in connectomes.items():
        folder = root / f"sub-{subject}" / "dwi"
        folder.mkdir(parents=True)
        if kind == "npy":
            np.save(folder / f"sub-{subject}_connectome.npy", sc)
        elif kind == "mat":
            scipy.io.savemat(
                folder / f"sub-{subject}_connectome.mat", {"SC": sc, "dist": distance}
            )
        else:  # CSV with a header of region names, regions in a shuffled order
            order = rng.permutation(len(names))
            table = pd.DataFrame(sc[np.ix_(order, order)], columns=[names[i] for i in order])
            table.to_csv(folder / f"sub-{subject}_connectome.csv", index=False)
    content["structural"] = {"path": f"sub-{{subject}}/dwi/sub-{{subject}}_connectome.{kind}"}
    if kind == "mat":
        content["structural"]["key"] = "SC"
    path = root / manifest.name
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def _config(small_config, manifest, path, **control):
    settings = small_config(manifest)
    settings["control"] = {
        **settings["control"],
        "system_from": "structural",
        "n_random_sets": 1,
        "sweep_horizons": [],
        **control,
    }
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.mark.parametrize("kind", ["npy", "mat", "csv"])
def test_controllability_and_energies_on_structural_connectomes_match_nctpy(
    kind, cohort, tmp_path, small_config, capsys
):
    _, connectomes, names = cohort
    manifest = _write(tmp_path, cohort, kind)
    config = _config(small_config, manifest, tmp_path / "config.yaml")
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    status = pd.read_parquet(out / "status.parquet")
    assert set(status.loc[status["stage"] != "group", "status"]) == {"done"}

    with np.load(out / "group" / "states.npz") as data:
        centroids = data["activity_centroids"]
    k = len(centroids)
    off = ~np.eye(k, dtype=bool)
    x0 = np.repeat(centroids, k, axis=0)[off.ravel()]
    xf = np.tile(centroids, (k, 1))[off.ravel()]
    horizon = yaml.safe_load(config.read_text())["control"]["horizon"]
    for subject, (sc, _) in connectomes.items():
        folder = out / f"sub-{subject}"
        measures = pd.read_parquet(folder / f"sub-{subject}_run-1_measures.parquet")
        static = measures[measures["window"] < 0]
        wide = static.pivot(index="region", columns="measure", values="value").loc[names]
        a_discrete = matrix_normalization(sc, system="discrete")
        np.testing.assert_allclose(
            wide["average_controllability"],
            ave_control(a_discrete, system="discrete"),
            rtol=1e-10,
        )
        np.testing.assert_allclose(
            wide["modal_controllability"], modal_control(a_discrete), rtol=1e-10
        )

        energy = pd.read_parquet(folder / f"sub-{subject}_run-1_energy.parquet")
        assert set(energy["network"]) == {"structural"}
        a_continuous = matrix_normalization(sc, system="continuous")
        everyone = energy[energy["analysis"] == "all regions"].sort_values(
            ["from_state", "to_state"]
        )
        reference = minimum_energy_fast(a_continuous, horizon, np.eye(N_REGIONS), x0.T, xf.T)
        np.testing.assert_allclose(everyone["energy"], reference.sum(axis=0), rtol=1e-10)

        # the primary analysis: full input on the control set, epsilon elsewhere
        primary = energy[energy["analysis"] == "primary"].sort_values(["from_state", "to_state"])
        epsilon = float(primary["epsilon"].iloc[0])
        networks = pd.read_csv(manifest.parent / "regions.tsv", sep="\t")["network"]
        weights = np.where(networks == "Default", 1.0, epsilon)
        reference = minimum_energy_fast(a_continuous, horizon, np.diag(weights), x0.T, xf.T)
        # both solve one linear system in the Gramian: the digits they share are
        # bounded by its condition number (recorded beside every energy)
        condition = float(primary["condition_number"].max())
        assert condition < 1e8
        np.testing.assert_allclose(
            primary["energy"], reference.sum(axis=0), rtol=max(1e-10, condition * 1e-15)
        )

    table = pd.read_parquet(out / "group" / "energy_structural.parquet").set_index("analysis")
    assert table.loc["primary", "n_used"] == table.loc["primary", "n_transitions"]
    report = (out / "report.html").read_text()
    assert "Transition energy on the structural connectome" in report
    assert "structural connectome normalised" in report


def test_connectomes_without_a_structural_key_or_of_the_wrong_size_stop_before_computing(
    cohort, tmp_path, small_config, capsys
):
    manifest = _write(tmp_path, cohort, "npy")
    content = yaml.safe_load(manifest.read_text())
    template = content.pop("structural")
    manifest.write_text(yaml.safe_dump(content))
    config = _config(small_config, manifest, tmp_path / "config.yaml")
    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "'control.system_from' is 'structural'" in out and "no 'structural' key" in out

    content["structural"] = template
    manifest.write_text(yaml.safe_dump(content))
    subject = sorted(cohort[1])[0]
    path = manifest.parent / f"sub-{subject}" / "dwi" / f"sub-{subject}_connectome.npy"
    np.save(path, np.load(path)[:-1, :-1])
    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"subject '{subject}'" in out
    assert f"23 x 23 but the region table has {N_REGIONS} regions" in out
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    capsys.readouterr()
    assert not (tmp_path / "out").exists()


def test_an_edited_connectome_is_recomputed_on_rerun(cohort, tmp_path, small_config, capsys):
    manifest = _write(tmp_path, cohort, "npy")
    config = _config(small_config, manifest, tmp_path / "config.yaml", energy=False)
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    subject = sorted(cohort[1])[1]
    measures = out / f"sub-{subject}" / f"sub-{subject}_run-1_measures.parquet"
    before = pd.read_parquet(measures)
    path = manifest.parent / f"sub-{subject}" / "dwi" / f"sub-{subject}_connectome.npy"
    np.save(path, 2.0 * np.load(path))  # doubled weights: a new normalisation
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    after = pd.read_parquet(measures)
    value = "average_controllability"
    changed = before[before["measure"] == value]["value"].to_numpy()
    assert not np.allclose(changed, after[after["measure"] == value]["value"].to_numpy())


def test_square_matrices_given_as_time_series_point_to_the_structural_key(cohort, tmp_path):
    sc = cohort[1][sorted(cohort[1])[0]][0]
    np.save(tmp_path / "sub-01_run-1_bold.npy", sc)
    with pytest.raises(ValueError, match="connectivity matrix, not a time series.*'structural'"):
        load_timeseries(tmp_path / "sub-01_run-1_bold.npy", t_r=0.72)


def test_load_connectivity_reads_each_format_to_the_region_tables_order(cohort, tmp_path):
    manifest_path = _write(tmp_path, cohort, "csv")
    manifest = load_manifest(manifest_path)
    spec = manifest.runs()[0]
    sc = cohort[1][spec.subject][0]
    np.testing.assert_array_equal(manifest.load_structural(spec), sc)
    names = cohort[2]
    reversed_names = names[::-1]
    np.testing.assert_array_equal(
        manifest.load_structural(spec, names=reversed_names), sc[::-1, ::-1]
    )
    scipy.io.savemat(tmp_path / "two.mat", {"SC": sc, "FA": sc / 10})
    with pytest.raises(ValueError, match="'key' must name one of"):
        load_connectivity(tmp_path / "two.mat")
    np.testing.assert_array_equal(load_connectivity(tmp_path / "two.mat", key="SC"), sc)
    bad = sc.copy()
    bad[2, 3] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(ValueError, match="NaN or infinite entries \\(first at row 2, column 3\\)"):
        load_connectivity(tmp_path / "nan.npy", subject="01")
    np.save(tmp_path / "ts.npy", np.ones((150, 24)))
    with pytest.raises(ValueError, match="must be square"):
        load_connectivity(tmp_path / "ts.npy")


def test_a_cohort_of_connectomes_without_time_series(cohort, tmp_path, small_config, capsys):
    """Subjects with a connectome and no fMRI: controllability, graph measures and
    energies between the networks of the region table; one broken file is
    recorded and the others finish."""
    manifest = _write(tmp_path, cohort, "mat")
    content = yaml.safe_load(manifest.read_text())
    del content["timeseries"], content["runs"]
    manifest.write_text(yaml.safe_dump(content, sort_keys=False))
    for tsv in manifest.parent.glob("sub-*/*_timeseries.tsv"):
        tsv.unlink()
    subjects = sorted(cohort[1])
    broken = manifest.parent / f"sub-{subjects[2]}" / "dwi" / f"sub-{subjects[2]}_connectome.mat"
    sc = cohort[1][subjects[2]][0].copy()
    sc[0, 1] = np.nan
    scipy.io.savemat(broken, {"SC": sc})
    config = _config(small_config, manifest, tmp_path / "config.yaml", epsilon=1e-3)

    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert f"subject '{subjects[2]}'" in out and "NaN or infinite entries" in out

    out_dir = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out_dir), "--quiet"]) == 1  # one failed unit
    capsys.readouterr()
    status = pd.read_parquet(out_dir / "status.parquet")
    runs = status[status["stage"] == "run"].set_index("subject")
    assert runs.loc[subjects[2], "status"] == "failed"
    assert "NaN or infinite" in runs.loc[subjects[2], "error"]
    assert set(runs.drop(subjects[2])["status"]) == {"done"}
    group = status[status["stage"] == "group"].set_index("unit")
    assert group.loc["multilayer_communities", "status"] == "skipped"
    assert group.loc["transition_energy", "status"] == "done"
    assert group.loc["group_comparison", "status"] == "done"

    regions = pd.read_csv(manifest.parent / "regions.tsv", sep="\t")
    names = sorted(set(regions["network"]))
    states = np.array([(regions["network"] == name).to_numpy(float) for name in names])
    subject = subjects[0]
    sc = cohort[1][subject][0]
    measures = pd.read_parquet(out_dir / f"sub-{subject}" / f"sub-{subject}_measures.parquet")
    wide = measures.pivot(index="region", columns="measure", values="value").loc[cohort[2]]
    np.testing.assert_allclose(
        wide["average_controllability"],
        ave_control(matrix_normalization(sc, system="discrete"), system="discrete"),
        rtol=1e-10,
    )
    assert {"strength", "clustering", "participation"} <= set(wide.columns)
    energy = pd.read_parquet(out_dir / f"sub-{subject}" / f"sub-{subject}_energy.parquet")
    assert "window_length" not in energy.columns
    assert set(energy["from_name"]) == set(names)
    np.testing.assert_array_equal(np.asarray(names)[energy["to_state"]], energy["to_name"])
    everyone = energy[energy["analysis"] == "all regions"].sort_values(["from_state", "to_state"])
    k = len(names)
    off = ~np.eye(k, dtype=bool).ravel()
    x0, xf = np.repeat(states, k, axis=0)[off], np.tile(states, (k, 1))[off]
    reference = minimum_energy_fast(
        matrix_normalization(sc, system="continuous"), 1.0, np.eye(N_REGIONS), x0.T, xf.T
    )
    np.testing.assert_allclose(everyone["energy"], reference.sum(axis=0), rtol=1e-10)
    report = (out_dir / "report.html").read_text()
    assert "between the networks (Cont, Default" in report
    assert "Structural connectivity" in report
    assert "state switch recovery" not in report


def test_one_group_connectome_for_every_subject_scaled_by_log(
    cohort, tmp_path, small_config, capsys
):
    manifest = _write(tmp_path, cohort, "npy")
    content = yaml.safe_load(manifest.read_text())
    group = np.mean([sc for sc, _ in cohort[1].values()], axis=0)
    np.save(manifest.parent / "group_connectome.npy", group)
    content["structural"] = "group_connectome.npy"
    manifest.write_text(yaml.safe_dump(content, sort_keys=False))
    config = _config(
        small_config, manifest, tmp_path / "config.yaml", energy=False, structural_scale="log"
    )
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    expected = ave_control(matrix_normalization(np.log1p(group), system="discrete"), "discrete")
    for subject in cohort[1]:
        measures = pd.read_parquet(
            out / f"sub-{subject}" / f"sub-{subject}_run-1_measures.parquet"
        )
        values = measures[(measures["measure"] == "average_controllability")]
        values = values.set_index("region").loc[cohort[2], "value"]
        np.testing.assert_allclose(values, expected, rtol=1e-10)


def test_structural_scale_needs_a_structural_system(small_config, tmp_path):
    from brainctrl.exceptions import ConfigError
    from brainctrl.pipeline import PipelineConfig

    settings = small_config(tmp_path / "manifest.yaml")
    settings["control"] = {**settings["control"], "structural_scale": "log"}
    with pytest.raises(ConfigError, match="'control.structural_scale' applies to"):
        PipelineConfig.from_dict(settings)
    settings["control"]["system_from"] = "structural"
    settings["control"]["structural_scale"] = "ln"
    with pytest.raises(ConfigError, match="'control.structural_scale' must be one of"):
        PipelineConfig.from_dict(settings)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (np.triu, "only its upper triangle filled"),
        (lambda sc: sc - np.where(sc > 0, 0.0, 0.5), "non-negative"),
        (lambda sc: sc + np.triu(sc, 1) * 0.5, "must be symmetric"),
    ],
    ids=["upper-triangle", "negative", "asymmetric"],
)
def test_connectomes_that_tractography_would_not_give_are_named_by_validate(
    damage, message, cohort, tmp_path, small_config, capsys
):
    manifest = _write(tmp_path, cohort, "npy")
    subject = sorted(cohort[1])[2]
    path = manifest.parent / f"sub-{subject}" / "dwi" / f"sub-{subject}_connectome.npy"
    np.save(path, damage(np.load(path)))
    config = _config(small_config, manifest, tmp_path / "config.yaml")
    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    errors = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, out
    assert f"subject '{subject}'" in errors[0] and str(path) in errors[0]
    assert message in errors[0]


def test_a_manifest_typo_is_a_finding_of_validate(cohort, tmp_path, small_config, capsys):
    manifest = _write(tmp_path, cohort, "npy")
    content = yaml.safe_load(manifest.read_text())
    content["structual"] = content.pop("structural")
    manifest.write_text(yaml.safe_dump(content))
    config = _config(small_config, manifest, tmp_path / "config.yaml")
    assert main(["validate", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "error: " in out and "unknown manifest key(s) ['structual']" in out


def test_a_subject_whose_connectome_is_missing_is_named(cohort, tmp_path, small_config, capsys):
    """Subjects found on disk: a missing file is not an error, but validate names the
    phenotype's subject that has no data."""
    manifest = _write(tmp_path, cohort, "npy")
    content = yaml.safe_load(manifest.read_text())
    del content["timeseries"], content["runs"]
    content["subjects"] = None  # found on disk
    manifest.write_text(yaml.safe_dump(content, sort_keys=False))
    subject = sorted(cohort[1])[4]
    (manifest.parent / f"sub-{subject}" / "dwi" / f"sub-{subject}_connectome.npy").unlink()
    config = _config(small_config, manifest, tmp_path / "config.yaml", energy=False)
    assert main(["validate", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "1 subject(s) of the phenotype table have no data" in out and f"'{subject}'" in out
    assert "List 'subjects' in the manifest" in out
