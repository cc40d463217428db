import pytest
import torch

from faceattr.celeba import CELEBA_ATTRIBUTES, GROUPED_ORDER
from faceattr.errors import FaceAttrError
from faceattr.models import FaceAttrNet, ModelConfig

TINY = {"widths": [8, 16], "depths": [1, 1], "task_dim": 8, "lstm_hidden": 8, "input_size": 32}


@pytest.mark.parametrize("head", ["bilstm", "fc"])
@pytest.mark.parametrize("sequence", ["attention", "linear"])
def test_output_shape(head, sequence):
    m = FaceAttrNet(ModelConfig(head=head, sequence=sequence, **TINY)).eval()
    logits = m(torch.randn(3, 3, 32, 32))
    assert logits.shape == (3, 40, 2)
    p = FaceAttrNet.probabilities(logits)
    assert p.shape == (3, 40) and ((p >= 0) & (p <= 1)).all()


def test_stem_stride_one_keeps_the_first_stage_at_full_resolution():
    """stem_stride=1 doubles every feature map's side; the outputs keep their shape, and a
    config without the key (every model file before it) rebuilds with stride 2."""
    x = torch.randn(2, 3, 32, 32)
    s1 = FaceAttrNet(ModelConfig(stem_stride=1, **TINY)).eval()
    s2 = FaceAttrNet(ModelConfig(**TINY)).eval()
    assert s1.backbone(x).shape[-1] == 2 * s2.backbone(x).shape[-1] == 16
    assert s1(x).shape == s2(x).shape == (2, 40, 2)
    old = ModelConfig(**TINY).to_dict()
    del old["stem_stride"]
    assert ModelConfig.from_dict(old).stem_stride == 2
    with pytest.raises(FaceAttrError, match="stem_stride"):
        ModelConfig.from_dict({"stem_stride": 4})


def test_center_crop_reads_only_the_middle_of_the_input():
    """model.center_crop=N: the network sees only the central N x N pixels (what lies outside
    changes nothing); a config without the key rebuilds without a crop."""
    m = FaceAttrNet(ModelConfig(center_crop=20, **TINY)).eval()
    x = torch.randn(2, 3, 32, 32)
    y = x.clone()
    y[..., :6, :] = 0
    y[..., :, 26:] = 0
    with torch.no_grad():
        assert torch.equal(m(x), m(y))
        plain = FaceAttrNet(ModelConfig(**{**TINY, "input_size": 20}))
        plain.load_state_dict(m.state_dict())
        assert torch.allclose(plain.eval()(x[..., 6:26, 6:26]), m(x))
    assert "center_crop" not in ModelConfig(**TINY).to_dict()  # older faceattr reads it
    assert ModelConfig.from_dict(m.config.to_dict()).center_crop == 20
    with pytest.raises(FaceAttrError, match="center_crop"):
        ModelConfig.from_dict({"center_crop": 80})


def test_any_attribute_set():
    m = FaceAttrNet(ModelConfig(attributes=["a", "b", "c"], order="file", **TINY))
    assert m(torch.randn(2, 3, 32, 32)).shape == (2, 3, 2)


def test_grouped_order_is_a_permutation():
    assert sorted(GROUPED_ORDER) == sorted(CELEBA_ATTRIBUTES)
    order = ModelConfig().sequence_order()
    assert sorted(order) == list(range(40)) and order != list(range(40))


def test_order_changes_the_scan_but_outputs_stay_in_attribute_order():
    """Attribute j's output depends on where j sits in the scan, not on its output index."""
    torch.manual_seed(0)
    a = FaceAttrNet(ModelConfig(order="file", **TINY)).eval()
    b = FaceAttrNet(ModelConfig(order=list(reversed(CELEBA_ATTRIBUTES)), **TINY)).eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(a(x), b(x))  # the LSTM sees another sequence
    # an FC head has no sequence: order must not matter
    c = FaceAttrNet(ModelConfig(head="fc", order="file", **TINY)).eval()
    d = FaceAttrNet(ModelConfig(head="fc", order="grouped", **TINY)).eval()
    d.load_state_dict(c.state_dict())
    assert torch.allclose(c(x), d(x))


def test_bilstm_reads_both_directions():
    """Changing the first task feature changes the last step's output and vice versa."""
    m = FaceAttrNet(ModelConfig(order="file", dropout=0.0, **TINY)).eval()
    steps = torch.randn(1, 4, 8)  # a short sequence, so nothing is forgotten on the way
    base = m.head(steps)
    s1 = steps.clone()
    s1[0, 0] += 5
    s2 = steps.clone()
    s2[0, -1] += 5
    assert not torch.allclose(m.head(s1)[0, -1], base[0, -1])
    assert not torch.allclose(m.head(s2)[0, 0], base[0, 0])


def test_config_validation():
    with pytest.raises(FaceAttrError, match="unknown model settings"):
        ModelConfig.from_dict({"bogus": 1})
    with pytest.raises(FaceAttrError, match="model.head"):
        ModelConfig.from_dict({"head": "transformer"})
    with pytest.raises(FaceAttrError, match="every task exactly once"):
        ModelConfig.from_dict({"order": ["Male"]})
    cfg = ModelConfig(**TINY)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_run_name_drops_machine_folders():
    from faceattr.models.modelfile import run_name

    assert run_name("/home/me/runs/m1-fast/model.safetensors") == "m1-fast"
    assert run_name("runs/ens4.safetensors") == "ens4"


def test_an_ensemble_averages_age_and_expression_over_its_joint_members():
    from faceattr.models.ensemble import Ensemble, EnsembleConfig

    torch.manual_seed(0)
    joint = dict(TINY, age_bins=11, expressions=["neutral", "happiness"])
    cfgs = [ModelConfig(**TINY), ModelConfig(**joint), ModelConfig(**joint)]
    ens = Ensemble(EnsembleConfig(cfgs, mirror=False)).eval()
    assert ens.extra_members == [1, 2]
    x = torch.randn(3, 3, TINY["input_size"], TINY["input_size"])
    with torch.no_grad():
        got = ens(x, all_outputs=True)
        a, b = (ens.members[i](x, all_outputs=True) for i in (1, 2))
    for k in ("age", "expression"):
        want = torch.log((a[k].softmax(-1) + b[k].softmax(-1)) / 2)
        assert torch.allclose(got[k], want, atol=1e-5)
    # extras_from: expression from member 2 alone, age still from both; survives the config
    cfg = EnsembleConfig.from_dict(EnsembleConfig(cfgs, extras_from={"expression": [2]}).to_dict())
    assert cfg.extras_from == {"expression": [2]}
    one = Ensemble(cfg).eval()
    one.load_state_dict(ens.state_dict())
    with torch.no_grad():
        got1 = one(x, all_outputs=True)
    assert torch.allclose(got1["expression"], b["expression"].log_softmax(-1), atol=1e-5)
    assert torch.allclose(got1["age"], got["age"], atol=1e-6)
    with pytest.raises(FaceAttrError, match="extras_from"):
        EnsembleConfig.from_dict(dict(cfg.to_dict(), extras_from={"age": [0]}))


def test_an_expression_specialist_gives_an_ensemble_only_its_expression():
    from faceattr.inference.export import Outputs
    from faceattr.models.ensemble import Ensemble, EnsembleConfig

    torch.manual_seed(0)
    joint = ModelConfig(**TINY, age_bins=11, expressions=["neutral", "happiness"])
    spec = ModelConfig(**TINY, attributes=[], expressions=["neutral", "happiness"])
    cfg = EnsembleConfig.from_dict(EnsembleConfig([ModelConfig(**TINY), joint, spec]).to_dict())
    assert cfg.attributes == joint.attributes and cfg.extra_tasks == ["age", "expression"]
    ens = Ensemble(cfg).eval()
    x = torch.randn(2, 3, TINY["input_size"], TINY["input_size"])
    with torch.no_grad():
        got = ens(x, all_outputs=True)
        a, b, c = (m(x, all_outputs=True) for m in ens.members)
        exported = Outputs(ens)(x)
        alone = ens(x)  # the attributes alone: the specialist is not run
    p = (a["logits"].softmax(-1)[..., 1] + b["logits"].softmax(-1)[..., 1]) / 2
    assert torch.allclose(got["logits"].softmax(-1)[..., 1], p, atol=1e-5)
    assert torch.equal(alone, got["logits"])
    assert torch.allclose(got["age"], b["age"].log_softmax(-1), atol=1e-5)
    want = torch.log((b["expression"].softmax(-1) + c["expression"].softmax(-1)) / 2)
    assert torch.allclose(got["expression"], want, atol=1e-5)
    assert len(exported) == 3 and torch.allclose(exported[2], want.exp(), atol=1e-5)
    with pytest.raises(FaceAttrError, match="a member with attributes"):
        EnsembleConfig.from_dict(EnsembleConfig([spec]).to_dict())
    other = ModelConfig(**TINY, attributes=[], expressions=["neutral", "anger"])
    with pytest.raises(FaceAttrError, match="share their age bins and expressions"):
        EnsembleConfig.from_dict(EnsembleConfig([joint, other]).to_dict())


def test_a_soup_averages_weights_and_matches_per_task_rows_by_name():
    from faceattr.models.soup import average_weights

    torch.manual_seed(0)
    joint = FaceAttrNet(ModelConfig(**TINY, age_bins=11, expressions=["neutral", "happiness"]))
    other = FaceAttrNet(joint.config)
    plain = FaceAttrNet(ModelConfig(**TINY))  # the attributes only: no age/expression rows
    soup = average_weights([joint, other], [0.75, 0.25])
    a, b, s = joint.state_dict(), other.state_dict(), soup.state_dict()
    for k, v in s.items():
        if v.is_floating_point():
            assert torch.allclose(v, 0.75 * a[k] + 0.25 * b[k], atol=1e-6), k
        else:
            assert torch.equal(v, a[k]), k  # BatchNorm's counters: the first's
    mixed = average_weights([joint, plain], [0.5, 0.5]).state_dict()
    n = len(plain.config.task_names)
    for k in ("sequence.task_embed", "sequence.attn.weight"):
        assert torch.allclose(mixed[k][:n], (a[k][:n] + plain.state_dict()[k]) / 2, atol=1e-6)
        assert torch.equal(mixed[k][n:], a[k][n:])  # age and expression: only the first has them
    assert torch.equal(mixed["extras.age.net.1.weight"], a["extras.age.net.1.weight"])
    x = torch.randn(2, 3, TINY["input_size"], TINY["input_size"])
    with torch.no_grad():
        assert set(soup(x, all_outputs=True)) >= {"logits", "age", "expression"}
    with pytest.raises(FaceAttrError, match="one share each"):
        average_weights([joint, other], [1.0])
    with pytest.raises(FaceAttrError, match="positive"):
        average_weights([joint, other], [1.0, 0.0])


def test_a_soup_of_two_architectures_is_refused():
    from faceattr.models.soup import average_weights

    small = FaceAttrNet(ModelConfig(**TINY))
    wide = FaceAttrNet(ModelConfig(**dict(TINY, widths=[8, 24])))
    with pytest.raises(FaceAttrError, match="one architecture"):
        average_weights([small, wide], [0.5, 0.5])
    with pytest.raises(FaceAttrError, match="positive"):
        average_weights([small, small], [float("nan"), 1.0])
