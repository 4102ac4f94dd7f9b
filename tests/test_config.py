import pytest

from autodistiller import ConfigError, PipelineConfig, UnknownOptionError
from autodistiller.config import LossConfig, StudentConfig, section_fields


def test_defaults_round_trip_through_flat_dict():
    cfg = PipelineConfig()
    flat = cfg.to_flat()
    assert flat["loss.kind"] == "kl" and flat["student.layers"] == 2
    assert PipelineConfig.from_flat(flat) == cfg


def test_round_trip_of_non_default_values_and_nested_form():
    cfg = PipelineConfig.from_flat({"loss.kind": "annealing", "loss.tau_max": 7, "student.layers": 3,
                                    "student.init": "last", "training.learning_rate": 1e-4})
    assert cfg.loss.tau_max == 7.0 and isinstance(cfg.loss.tau_max, float)
    assert PipelineConfig.from_flat(cfg.to_flat()) == cfg
    assert PipelineConfig.from_dict(cfg.to_nested()) == cfg


def test_yaml_round_trip(tmp_path):
    cfg = PipelineConfig().replace(**{"loss.kind": "mse", "training.epochs": 5})
    path = tmp_path / "p.yaml"
    cfg.to_yaml(path)
    assert PipelineConfig.from_yaml(path) == cfg


def test_flat_keys_cover_every_field_once():
    keys = [spec.key for spec in section_fields()]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(PipelineConfig().to_flat())


def test_unknown_key_is_an_error_listing_known_keys():
    with pytest.raises(UnknownOptionError, match=r"'loss.kindd'.*loss.kind"):
        PipelineConfig.from_flat({"loss.kindd": "kl"})


def test_unknown_loss_names_the_key_and_the_choices():
    with pytest.raises(UnknownOptionError) as info:
        LossConfig(kind="kld")
    assert str(info.value) == ("loss.kind='kld' is not a registered prediction loss; choose one of: "
                               "annealing, kl, mse, none")


@pytest.mark.parametrize(("flat", "message"), [
    ({"loss.alpha": 1.5}, r"loss.alpha=1.5 is out of range; it must be in \[0.0, 1.0\]"),
    ({"loss.temperature": 0}, "loss.temperature=0.0 is out of range"),
    ({"student.layers": 0}, "student.layers=0 is out of range"),
    ({"student.layers": 2.5}, "student.layers=2.5 must be an integer"),
    ({"training.learning_rate": "fast"}, "must be a number"),
    ({"student.init": "middle"}, "student.init='middle'.*first, last, uniform|first, uniform, last"),
    ({"training.precision": "fp8"}, "training.precision='fp8'"),
    ({"student.hidden_size": 100}, "multiple of 8"),
])
def test_bad_values_are_clear_errors(flat, message):
    with pytest.raises(ConfigError, match=message):
        PipelineConfig.from_flat(flat)


def test_bool_is_not_an_integer():
    with pytest.raises(ConfigError, match="must be an integer"):
        StudentConfig(layers=True)


def test_bad_yaml_file_is_reported(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("loss: {kind: kl\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        PipelineConfig.from_yaml(bad)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("lossy:\n  kind: kl\n")
    with pytest.raises(ConfigError, match=r"unknown.yaml: 'lossy' is not a registered pipeline section"):
        PipelineConfig.from_yaml(unknown)
    with pytest.raises(ConfigError, match="does not exist"):
        PipelineConfig.from_yaml(tmp_path / "missing.yaml")
