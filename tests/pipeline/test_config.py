from pathlib import Path

import pytest
import yaml

from brainctrl.exceptions import ConfigError
from brainctrl.pipeline import PipelineConfig
from brainctrl.pipeline._demo import demo_config


def test_shipped_demo_config_is_valid():
    config = PipelineConfig.from_dict(demo_config())
    assert config.control.control_set == "Default"
    assert config.connectivity.window_length == 60


def test_defaults_and_coercion():
    config = PipelineConfig.from_dict({"manifest": "m.yaml", "control": {"horizon": 2}})
    assert config.control.horizon == 2.0 and isinstance(config.control.horizon, float)
    assert config.connectivity.step == 5
    assert config.executor.kind == "serial"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, r"config key 'manifest' is required"),
        (
            {"manifest": "m", "contrl": {}},
            r"config key 'contrl' is not known; known keys in 'the top level'",
        ),
        ({"manifest": "m", "control": {"horizn": 1}}, r"config key 'control.horizn' is not known"),
        (
            {"manifest": "m", "control": {"horizon": "long"}},
            r"'control.horizon' must be a number; got 'long'",
        ),
        (
            {"manifest": "m", "control": {"horizon": -1}},
            r"'control.horizon' must be a finite number > 0; got -1.0",
        ),
        (
            {"manifest": "m", "control": {"horizon": float("inf")}},
            r"'control.horizon' must be a finite number > 0; got inf",
        ),
        (
            {"manifest": "m", "control": {"system": "discrt"}},
            r"'control.system' must be one of \('continuous', 'discrete'\); got 'discrt'",
        ),
        (
            {"manifest": "m", "connectivity": {"step": 0}},
            r"'connectivity.step' must be >= 1 frame",
        ),
        (
            {"manifest": "m", "connectivity": {"window_length": 2.5}},
            r"'connectivity.window_length' must be an integer; got 2.5",
        ),
        (
            {"manifest": "m", "clean": {"confounds": "csf"}},
            r"'clean.confounds' must be a list; got 'csf'",
        ),
        (
            {"manifest": "m", "clean": {"high_pass": 0.1, "low_pass": 0.01}},
            r"'clean.high_pass' must be below low_pass",
        ),
        ({"manifest": "m", "stats": {"alpha": 1.5}}, r"'stats.alpha' must be in \(0, 1\)"),
        (
            {"manifest": "m", "stats": {"cca_penalty_x": 0.0}},
            r"'stats.cca_penalty_x' must be in \(0, 1\]; got 0.0",
        ),
        (
            {"manifest": "m", "stats": {"cca_penalty_y": 1.5}},
            r"'stats.cca_penalty_y' must be in \(0, 1\]; got 1.5",
        ),
        (
            {"manifest": "m", "stats": {"cca_measure": ""}},
            r"'stats.cca_measure' must be the name of a regional measure; got ''",
        ),
        (
            {"manifest": "m", "multilayer": {"enabled": "yes"}},
            r"'multilayer.enabled' must be true or false; got 'yes'",
        ),
        ({"manifest": "m", "executor": {"kind": "slurm"}}, r"'executor.kind' must be one of"),
        ({"manifest": "m", "stats": []}, r"config key 'stats' must be a mapping"),
        (
            {
                "manifest": "m",
                "control": {"system": "discrete", "system_from": "signed_laplacian"},
            },
            r"'control.system_from' 'signed_laplacian' needs control.system 'continuous'",
        ),
        (
            {"manifest": "m", "control": {"system": "discrete"}},
            r"'control.energy' needs control.system 'continuous'",
        ),
        ({"manifest": "m", "graph": {"density": 1.5}}, r"'graph.density' must be in \(0, 1\]"),
        (
            {"manifest": "m", "multilayer": {"window_stride": 0}},
            r"'multilayer.window_stride' must be >= 1",
        ),
    ],
)
def test_invalid_configs_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        PipelineConfig.from_dict(data)


def test_from_yaml_resolves_manifest_relative_to_config(tmp_path):
    path = tmp_path / "cfg" / "config.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"manifest": "../data/manifest.yaml"}))
    config = PipelineConfig.from_yaml(path)
    assert config.manifest == str((tmp_path / "data" / "manifest.yaml").resolve())


def test_from_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"config file '.*missing.yaml' does not exist"):
        PipelineConfig.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("manifest: [unclosed")
    with pytest.raises(ConfigError, match=r"is not valid YAML"):
        PipelineConfig.from_yaml(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("3")
    with pytest.raises(ConfigError, match=r"must hold a mapping; got int"):
        PipelineConfig.from_yaml(scalar)


def test_section_hash_tracks_only_named_sections():
    a = PipelineConfig.from_dict({"manifest": "m"})
    b = PipelineConfig.from_dict({"manifest": "m", "stats": {"alpha": 0.01}})
    c = PipelineConfig.from_dict({"manifest": "m", "control": {"horizon": 3}})
    d = PipelineConfig.from_dict({"manifest": "m", "executor": {"kind": "processes"}})
    assert a.section_hash("control") == b.section_hash("control")
    assert a.section_hash("control") != c.section_hash("control")
    assert a.section_hash() != b.section_hash()
    # where work runs never changes what it computes
    assert a.section_hash() == d.section_hash()


def test_shipped_hcp_config_suits_real_resting_state_data():
    from importlib import resources

    path = resources.files("brainctrl").joinpath("data/hcp_config.yaml")
    config = PipelineConfig.from_yaml(path)
    manifest = yaml.safe_load(Path(config.manifest).read_text())
    t_r = manifest["t_r"]
    assert t_r == 0.72
    # windows at least 1 / f_min of the high-pass (Leonardi & Van De Ville 2015)
    assert config.clean.high_pass is not None
    assert config.connectivity.window_length * t_r >= 1 / config.clean.high_pass
    # non-overlapping multilayer layers that tile the run
    assert config.multilayer.window_stride is None
    assert config.connectivity.window_length % config.connectivity.step == 0
    # global-signal regression is an explicit, valid choice; not the demo's planted-effect
    # sparse-CCA measure
    assert config.clean.global_signal in (False, True, "derivative")
    assert config.stats.cca_measure == "average_controllability"
    demo = PipelineConfig.from_dict(demo_config())
    assert config.stats.cca_measure != demo.stats.cca_measure
    assert config.states.n_states != demo.states.n_states
    # a workstation executor
    assert config.executor.kind == "processes" and config.executor.n_jobs > 1
    # the phenotype columns the stats name are those of the manifest
    phenotype = manifest["phenotype"]
    assert config.stats.group == phenotype["group"]
    assert set(config.stats.covariates) <= set(phenotype["covariates"])
    named = set(config.stats.scores) | set(config.stats.cca_scores)
    assert named <= set(phenotype["scores"])
