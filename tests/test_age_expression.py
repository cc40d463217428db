"""Age and expression: their label files, caches, the masked multi-task loss over a batch that
mixes the three datasets, the model's extra task steps, and their evaluation."""

import csv
import json

import numpy as np
import pytest
import torch

from faceattr.cli import main
from faceattr.data.cache import open_cache
from faceattr.data.labels import EXPRESSIONS, read_targets
from faceattr.errors import FaceAttrError
from faceattr.evaluation.age_expression import age_metrics, expression_metrics
from faceattr.evaluation.calibration import fit_age_sd_scale, fit_softmax_temperature
from faceattr.inference.scores import age_from_distribution
from faceattr.models import FaceAttrNet, ModelConfig
from faceattr.training.losses import MixedLoss, age_targets, mixed_task_losses

from .conftest import FER, TINY_TRAIN, UTK


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


# ---- labels -------------------------------------------------------------------------------------

def test_utkface_and_ferplus_label_files():
    utk = read_targets(UTK / "labels.csv")
    assert utk.votes is None and len(utk) == 24 and np.isfinite(utk.age).all()
    assert set(utk.split) == {"train", "val"} and set(utk.groups) == {"gender", "race"}
    fer = read_targets(FER / "labels.csv")
    assert fer.age is None and fer.votes.shape == (len(fer), 8)
    # FER+'s protocol: a row whose most votes are 'unknown' or 'not a face' is left out
    rows = list(csv.DictReader((FER / "labels.csv").open()))
    kept = [r["file"] for r in rows
            if max(int(r["unknown"]), int(r["NF"])) <= max(int(r[e]) for e in EXPRESSIONS)]
    assert list(fer.files) == kept


def test_plain_age_and_expression_csvs(tmp_path):
    t = read_targets(write(tmp_path, "a.csv", "file,age\na.jpg,31\nb.jpg,4.5\n"))
    assert t.age.tolist() == [31.0, 4.5] and t.votes is None
    t = read_targets(write(tmp_path, "e.csv", "file,expression\na.jpg,Happiness\nb.jpg,fear\n"))
    assert t.votes.argmax(1).tolist() == [EXPRESSIONS.index("happiness"), EXPRESSIONS.index("fear")]
    # column names in any case; a blank cell is left out of that task's figures, and named
    cols = ",".join(e.capitalize() for e in EXPRESSIONS)
    t = read_targets(write(tmp_path, "f.csv", f"File,Split,{cols},Unknown,nf\n"
                           "a.jpg,Train,1,0,0,0,0,0,0,0,9,0\nb.jpg,Train,6,0,0,0,0,0,0,0,0,4\n"))
    assert t.files == ("b.jpg",) and t.excluded == {"a.jpg"} and t.split == ("train",)
    t = read_targets(write(tmp_path, "b.csv", "File,Age\na.jpg,\nb.jpg,40\n"))
    assert np.isnan(t.age[0]) and t.age[1] == 40
    assert t.notes == (f"1 row(s) of {tmp_path / 'b.csv'} have no age (a blank cell): left out "
                       "of the age figures",)


@pytest.mark.parametrize("text, msg", [
    ("file,age\na.jpg,old\n", "e.csv:2: age 'old' is not a number"),
    ("file,age\na.jpg,300\n", "e.csv:2: age 300 is outside"),
    ("file,expression\na.jpg,bored\n", "e.csv:2: unknown expression 'bored'"),
    ("file,age\na.jpg,3\na.jpg,4\n", "e.csv:3: duplicate row"),
    ("file,age\na.jpg\n", "e.csv:2: expected 2 columns"),
    ("name,age\na.jpg,3\n", "e.csv:1: the first column must be 'file'"),
    ("file,age\na.jpg,\nb.jpg,\n", "e.csv: no labelled rows: every age and expression cell is"),
])
def test_bad_age_and_expression_files_name_the_line(tmp_path, text, msg):
    with pytest.raises(FaceAttrError, match=msg):
        read_targets(write(tmp_path, "e.csv", text))


def test_caches_hold_ages_votes_and_groups(age_expression_caches):
    utk, fer = (open_cache(p) for p in age_expression_caches)
    assert utk.attributes == () and utk.images.shape == (24, 32, 32, 3)
    labels = {r["file"]: float(r["age"]) for r in csv.DictReader((UTK / "labels.csv").open())}
    assert utk.targets["age"].tolist() == [labels[f] for f in utk.files]
    assert {"gender", "race"} <= set(utk.targets)
    assert fer.targets["expression"].shape == (len(fer), 8)


def test_split_column_selects_the_split(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["prepare", "--images", str(UTK), "--labels", str(UTK / "labels.csv"),
                 "--split", "val", "--framing", "utkface", "--out", str(out), "--quiet",
                 "--size", "32"]) == 0
    assert len(open_cache(out)) == 12


# ---- the loss over a batch mixing CelebA, UTKFace and FER+ rows -------------------------------

def mixed_batch(seed=0):
    """6 rows: 2 CelebA (attributes), 2 UTKFace (age), 2 FER+ (votes); outputs with grads."""
    g = torch.Generator().manual_seed(seed)
    attrs = torch.full((6, 40), -1, dtype=torch.long)
    attrs[:2] = torch.randint(0, 2, (2, 40), generator=g)
    age = torch.tensor([float("nan")] * 2 + [25.0, 61.0] + [float("nan")] * 2)
    votes = torch.zeros(6, 8)
    votes[4:] = torch.tensor([[6, 3, 0, 0, 1, 0, 0, 0], [0, 0, 9, 0, 0, 0, 1, 0]]) / 10
    out = {"logits": torch.randn(6, 40, 2, generator=g, requires_grad=True),
           "age": torch.randn(6, 101, generator=g, requires_grad=True),
           "expression": torch.randn(6, 8, generator=g, requires_grad=True)}
    return out, {"attributes": attrs, "age": age, "expression": votes}


def test_each_row_contributes_only_the_tasks_it_has_labels_for():
    out, y = mixed_batch()
    a, present = mixed_task_losses(out, y)
    assert a.shape == (42,) and present.all()
    # a row's outputs for a task it has no label for get no gradient
    (a.sum()).backward()
    assert out["logits"].grad[2:].abs().sum() == 0  # UTKFace and FER+ rows: no attributes
    assert out["age"].grad[[0, 1, 4, 5]].abs().sum() == 0  # only the UTKFace rows have ages
    assert out["expression"].grad[:4].abs().sum() == 0  # only the FER+ rows have votes
    assert out["logits"].grad[:2].abs().sum() > 0 and out["age"].grad[2:4].abs().sum() > 0
    # a_j of an attribute is the mean over the labelled rows alone
    ce = torch.nn.functional.cross_entropy(out["logits"][:2, 0], y["attributes"][:2, 0])
    assert a[0].item() == pytest.approx(ce.item(), rel=1e-5)
    # expression: KL from the vote shares, zero when the prediction is the vote distribution
    exact = {**out, "expression": torch.log(y["expression"].clamp_min(1e-9))}
    assert mixed_task_losses(exact, y)[0][-1].item() == pytest.approx(0.0, abs=1e-5)


def test_a_batch_without_a_task_leaves_it_out():
    out, y = mixed_batch()
    y["age"][:] = float("nan")
    a, present = mixed_task_losses(out, y)
    assert not present[40] and present[41] and a[40] == 0
    loss = MixedLoss("mean", 40, 2, extra_weight=10.0)
    total, _ = loss(out, y)
    lam = torch.tensor([1.0] * 40 + [0.0, 10.0])  # the missing age task weighs nothing
    assert total.item() == pytest.approx(((lam * a).sum() / lam.sum()).item(), rel=1e-5)


def test_patent_weights_on_loss_ratios_favour_the_task_that_improved_least():
    loss = MixedLoss("patent", 40, 2, extra_weight=10.0)
    out, y = mixed_batch()
    loss.train()
    a, present = mixed_task_losses(out, y)
    loss.weights(a, present)  # first step: each task's reference is its own loss
    assert torch.allclose(loss.ref, a.detach())
    loss.ref_count.fill_(1e9)  # references frozen
    better = a.detach().clone()
    better[:40] *= 0.5  # the attributes halved their loss, age and expression did not move
    w = loss.weights(better, present)
    assert w[40] > 1.5 and w[41] > 1.5 and (w[:40] < 1).all()
    assert w.mean().item() == pytest.approx(1.0, abs=1e-5)
    assert MixedLoss("mean", 40, 2).weights(better, present).eq(1).all()


def test_age_label_distribution():
    q = age_targets(torch.tensor([30.0, 0.0, 150.0]), 101, 2.0)
    assert torch.allclose(q.sum(1), torch.ones(3))
    assert q[0].argmax() == 30 and q[1].argmax() == 0 and q[2].argmax() == 100  # clipped
    grid = torch.arange(101.0)
    assert (q[0] * grid).sum().item() == pytest.approx(30.0, abs=1e-3)


# ---- the network ------------------------------------------------------------------------------

def test_age_and_expression_are_steps_of_the_scanned_sequence():
    cfg = ModelConfig(widths=[8, 16], depths=[1, 1], task_dim=8, lstm_hidden=8, input_size=32,
                      age_bins=101, expressions=list(EXPRESSIONS))
    names = [cfg.task_names[i] for i in cfg.sequence_order()]
    assert len(names) == 42 and names[names.index("Young") + 1] == "age"
    assert names[names.index("Smiling") + 1] == "expression"
    m = FaceAttrNet(cfg).eval()
    out = m(torch.randn(3, 3, 32, 32), all_outputs=True)
    assert out["logits"].shape == (3, 40, 2) and out["age"].shape == (3, 101)
    assert out["expression"].shape == (3, 8)
    assert m.sequence.attn.out_channels == 42  # one attention map per task step
    # the age answer depends on the attribute steps through the BiLSTM: change the features
    # of the Young step only, and the age logits move
    fmap = m.backbone(torch.randn(1, 3, 32, 32))
    steps, pooled = m.sequence(fmap)
    young = cfg.task_names.index("Young")

    def age_of(s):
        scanned = m.head.scan(s[:, m.order])[:, m.inverse]
        return m.extras["age"](torch.cat([scanned[:, 40], pooled[:, 40]], -1))

    moved = steps.clone()
    moved[0, young] += 3
    assert not torch.allclose(age_of(steps), age_of(moved))


def test_fine_tuning_starts_from_the_attribute_model(tmp_path):
    from faceattr.models.modelfile import save_model
    from faceattr.training.train import init_from

    base = ModelConfig(widths=[8, 16], depths=[1, 1], task_dim=8, lstm_hidden=8, input_size=32)
    src = FaceAttrNet(base).eval()
    save_model(src, tmp_path / "m.safetensors", {"attributes": base.attributes,
                                                 "input_size": 32, "framing": {}})
    joint = FaceAttrNet(ModelConfig(**{**base.to_dict(), "age_bins": 101,
                                       "expressions": list(EXPRESSIONS)}))
    init_from(joint, tmp_path / "m.safetensors")
    assert torch.equal(joint.sequence.attn.weight[:40], src.sequence.attn.weight)
    assert torch.equal(joint.head.lstm.weight_hh_l0, src.head.lstm.weight_hh_l0)
    x = torch.randn(2, 3, 32, 32)
    joint.eval()
    assert not torch.equal(joint(x), src(x))  # the new steps change what the BiLSTM reads


# ---- calibration and metrics ------------------------------------------------------------------

def test_age_answer_is_the_median_of_the_distribution():
    p = np.zeros((3, 101))
    p[0, 30] = 1.0                      # certain: the bin itself
    p[1, [20, 21, 60]] = [0.3, 0.3, 0.4]  # skewed: the mean (36.3) is far from most of the mass
    p[2, [10, 11]] = [0.25, 0.75]
    age, sd = age_from_distribution(p)
    assert age.tolist() == pytest.approx([30.0, 20.5 + 0.2 / 0.3, 10.5 + 0.25 / 0.75], abs=1e-5)
    assert sd[0] == 0 and sd[1] > 15
    # the median's absolute error is the least a point answer can have for this distribution
    true = np.repeat([20, 21, 60], [3, 3, 4])
    assert np.abs(age[1] - true).mean() < np.abs(p[1] @ np.arange(101) - true).mean()


def test_age_range_holds_80_percent_after_fitting():
    rng = np.random.default_rng(0)
    true = rng.uniform(1, 90, 5000)
    sd = rng.uniform(2, 6, 5000)
    pred = true + rng.normal(0, 2 * sd)  # the raw SD is half the real spread
    k = fit_age_sd_scale(pred, sd, true)
    assert k == pytest.approx(2.0, rel=0.05)
    assert age_metrics(pred, true, k * sd)["range_coverage"] == pytest.approx(0.8, abs=0.01)


def test_expression_temperature_and_metrics():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 1, (4000, 8))
    p = np.exp(logits / 2) / np.exp(logits / 2).sum(1, keepdims=True)
    votes = np.array([rng.multinomial(10, row) for row in p])
    assert fit_softmax_temperature(logits, votes) == pytest.approx(2.0, rel=0.15)
    probs = np.eye(8)[[0, 0, 1, 2]]
    m = expression_metrics(probs, np.eye(8)[[0, 1, 1, 2]], list(EXPRESSIONS))
    assert m["accuracy"] == 0.75 and m["per_class"]["happiness"]["recall"] == 0.5
    assert m["confusion"]["counts"][1][0] == 1 and m["ece"] == pytest.approx(0.25)
    # with one vote per face the vote-share error is the majority one; with split votes a
    # probability equal to the vote share is calibrated though the majority is always right
    assert m["ece_votes"] == pytest.approx(m["ece"])
    votes = np.array([[6, 4, 0, 0, 0, 0, 0, 0]] * 10, np.float64)
    m = expression_metrics(votes / 10, votes, list(EXPRESSIONS))
    assert m["ece_votes"] == pytest.approx(0.0) and m["ece"] == pytest.approx(0.4)


def test_age_metrics_by_hand():
    m = age_metrics(np.array([30.0, 40, 10]), np.array([33.0, 40, 20]))
    assert m["mae"] == pytest.approx(13 / 3) and m["within_5"] == pytest.approx(2 / 3)


# ---- a trained joint model: the model file, evaluation ---------------------------------------

def test_joint_model_file_carries_its_calibration(joint_model):
    from faceattr.models.modelfile import read_metadata

    meta = read_metadata(joint_model)
    assert meta["config"]["age_bins"] == 101 and meta["config"]["expressions"] == list(EXPRESSIONS)
    assert meta["age"]["sd_scale"] > 0 and meta["expression"]["classes"] == list(EXPRESSIONS)
    assert len(meta["train_prevalence"]) == 40 and max(meta["train_prevalence"]) <= 1


@pytest.mark.parametrize("which", ["torch", "onnx"])
def test_evaluate_age_and_expression_data(joint_model, joint_onnx, which, tmp_path, capsys):
    model = joint_model if which == "torch" else joint_onnx
    out = tmp_path / "r.json"
    assert main(["evaluate", "--model", str(model), "--images", str(UTK), "--labels",
                 str(UTK / "labels.csv"), "--framing", "utkface", "--by", "gender", "--by",
                 "race", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "age mean absolute error" in text and "by gender" in text and "40-49" in text
    r = json.loads(out.read_text())
    assert r["images"] == 24 and r["age"]["faces"] == 24
    assert set(r["age"]["groups"]["gender"]) <= {"male", "female"}
    assert main(["evaluate", "--model", str(model), "--images", str(FER), "--labels",
                 str(FER / "labels.csv"), "--framing", "ferplus"]) == 0
    text = capsys.readouterr().out
    assert "expression accuracy" in text and "macro-F1" in text and "confusion" in text


def test_evaluate_refuses_a_model_without_age(tiny_model, capsys):
    assert main(["evaluate", "--model", str(tiny_model), "--images", str(UTK), "--labels",
                 str(UTK / "labels.csv")]) == 2
    assert "gives no age" in capsys.readouterr().err


def test_precise_bn_averages_over_full_framed_faces(tiny_cache, age_expression_caches):
    """``train.precise_bn``: the BatchNorm statistics become the plain average over the chosen
    faces with attribute labels (none of the bordered UTKFace or grey FER+ faces)."""
    from faceattr.training.config import load_config
    from faceattr.training.train import precise_bn, setup

    from .conftest import TINY_TRAIN

    utk, fer = age_expression_caches
    cfg = load_config(None, [*TINY_TRAIN, "train.precise_bn=100000",
                             f'data.train=["{tiny_cache}", "{utk}", "{fer}"]'])
    run = setup(cfg, tiny_cache.parent / "bn-run", resume=False)
    precise_bn(run)
    conv_layer, bn = run.eval_model.backbone.stem[0]
    celeba = open_cache(tiny_cache)
    train = run.train_idx[run.train_idx < len(celeba)]  # the CelebA rows among the train rows
    train = train[:len(train) // 32 * 32]  # whole batches of 32
    assert 0 < len(train) < len(celeba)
    x = torch.from_numpy(np.asarray(celeba.images)[train]).float().div(255).sub(0.5).div(0.5)
    with torch.no_grad():
        conv = conv_layer(x.permute(0, 3, 1, 2).contiguous())
    assert torch.allclose(bn.running_mean, conv.mean(dim=(0, 2, 3)), atol=1e-4)
    assert bn.momentum == 0.1 and not run.eval_model.training


def test_cpu_bfloat16_training_of_the_mixed_tasks(tmp_path, tiny_cache, age_expression_caches):
    """train.cpu_bf16: the three datasets' batches train under bfloat16 autocast in channels-last
    memory; the weights, the validation and the model file stay float32."""
    from faceattr.models.modelfile import load_model
    from faceattr.training.config import load_config
    from faceattr.training.train import train

    utk, fer = age_expression_caches
    cfg = load_config(None, [*TINY_TRAIN, "train.epochs=1", "data.val_fraction=0.3",
                             "train.cpu_bf16=true",
                             f'data.train=["{tiny_cache}", "{utk}", "{fer}"]'])
    train(cfg, tmp_path / "run", progress=False)
    model, meta = load_model(tmp_path / "run/model.safetensors")
    assert all(p.dtype == torch.float32 for p in model.parameters())
    rows = list(csv.DictReader((tmp_path / "run/log.csv").open()))
    assert np.isfinite(float(rows[-1]["train_loss"])) and float(rows[-1]["val_age_mae"]) > 0
    assert "age" in meta and "expression" in meta


def test_evaluate_refuses_images_whose_rows_have_no_label(tmp_path, capsys):
    """A label file with ages, but none for the images given: exit 2 naming the file, not an
    empty report."""
    from .conftest import TEST_CROPS, copy_images

    names = copy_images(TEST_CROPS, tmp_path / "img", 2)
    labels = write(tmp_path, "ages.csv", "file,age\n" + "".join(f"{n},\n" for n in names)
                   + "someone_else.jpg,30\n")
    rc = main(["evaluate", "--model", "fast", "--images", str(tmp_path / "img"),
               "--labels", str(labels), "--framing", "crop"])
    err = capsys.readouterr().err
    assert rc == 2 and "none of the 2 images read has an age or expression label" in err
    assert "Traceback" not in err
