"""The documentation runs: README.md, the pages under docs/ and the package's docstrings.

Every ```python block of README.md, every ``.. code-block:: python`` and every ``>>>`` example of
docs/**/*.rst, and every ``>>>`` example in a docstring of the package is executed (parsed with
Sybil); a ``>>>`` example's printed output is compared with the one shown (doctest, with
``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``). A document is one test: its examples share one
namespace and run in order, in a temporary folder, so that what they write stays out of the
repository. A document whose examples need an optional library that is not installed is
skipped, naming the library.

Beside them, checks that keep the prose in step with the code: the commands shown run scripts
that exist with flags those scripts define, relative links point at files, the API reference
lists every public name, and README.md stays short.
"""

from __future__ import annotations

import contextlib
import ctypes
import doctest
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

sybil = pytest.importorskip("sybil", reason="the documentation tests need sybil (the test extra)")

from sybil.document import PythonDocStringDocument  # noqa: E402
from sybil.evaluators.python import PythonEvaluator  # noqa: E402
from sybil.example import SybilFailure  # noqa: E402
from sybil.parsers import markdown, rest  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

# Libraries that only some extras install: examples needing a missing one are skipped.
OPTIONAL = {
    "catboost",
    "dask",
    "distributed",
    "lightgbm",
    "matplotlib",
    "mlxtend",
    "numba",
    "pandas",
    "scipy",
    "sklearn",
    "torch",
    "tqdm",
    "xgboost",
}

MARKDOWN = sybil.Sybil(
    [markdown.PythonCodeBlockParser(doctest_optionflags=FLAGS), markdown.SkipParser()],
    path=str(ROOT),
)
REST = sybil.Sybil(
    [
        rest.CodeBlockParser(language="python", evaluator=PythonEvaluator()),
        rest.DocTestParser(optionflags=FLAGS),
        rest.SkipParser(),
    ],
    path=str(ROOT),
)
DOCSTRINGS = sybil.Sybil(
    [rest.DocTestParser(optionflags=FLAGS)],
    path=str(ROOT),
    document_types={".py": PythonDocStringDocument},
)

# Written by the Sphinx build, or templates for it: not pages.
_BUILT = ("docs/_build", "docs/_templates", "docs/api/generated", "docs/auto_examples")


def _documents() -> list[str]:
    pages = [
        p.relative_to(ROOT).as_posix()
        for p in sorted((ROOT / "docs").rglob("*.rst"))
        if not p.relative_to(ROOT).as_posix().startswith(_BUILT)
    ]
    modules = [
        p.relative_to(ROOT).as_posix()
        for p in sorted((ROOT / "focalboost").rglob("*.py"))
        if ">>>" in p.read_text(encoding="utf-8")
    ]
    return ["README.md", *pages, *modules]


def _parser_for(path: str) -> sybil.Sybil:
    return {".md": MARKDOWN, ".rst": REST, ".py": DOCSTRINGS}[Path(path).suffix]


def _missing_optional(text: str) -> str | None:
    """The optional library an error message says is missing, if any."""
    for name in re.findall(r"No module named '([\w.]+)'|import of ([\w.]+) halted", text):
        top = "".join(name).split(".")[0]
        if top in OPTIONAL:
            return top
    return None


# Pages with no code of their own.
_PROSE_ONLY = {"docs/api/index.rst", "docs/install.rst", "docs/performance.rst", "docs/user_guide/index.rst"}


@pytest.mark.parametrize("path", _documents())
def test_documentation_examples_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    document = _parser_for(path).parse(ROOT / path)
    examples = list(document.examples())
    if path.endswith((".md", ".rst")):
        # a page whose blocks the parser no longer finds would pass by running nothing
        assert examples or path in _PROSE_ONLY, f"{path}: no code examples found"
    with _one_thread_per_worker():
        for example in examples:
            _evaluate(path, example)


@contextlib.contextmanager
def _one_thread_per_worker() -> Iterator[None]:
    """One OpenMP thread for LightGBM and XGBoost while a document runs.

    The suite runs on several workers at once; OpenMP threads that outnumber the cores spin
    while they wait and slow LightGBM and XGBoost down tenfold on a busy machine. XGBoost follows
    ``omp_set_num_threads`` (threadpoolctl); LightGBM resets it on every call to its own
    default, which ``LGBM_SetMaxThreads`` (LightGBM >= 4.2) caps. Results do not depend on it.
    """
    with threadpool_limits(limits=1, user_api="openmp"):
        try:
            from lightgbm.basic import _LIB as lib  # noqa: N811
        except ImportError:  # LightGBM is not installed
            lib = None
        if lib is None or not hasattr(lib, "LGBM_SetMaxThreads"):
            yield
            return
        before = ctypes.c_int(0)
        lib.LGBM_GetMaxThreads(ctypes.byref(before))
        lib.LGBM_SetMaxThreads(ctypes.c_int(1))
        try:
            yield
        finally:
            lib.LGBM_SetMaxThreads(before)


def _evaluate(path: str, example) -> None:
    """Run one example; skip the document if the example needs a missing optional library."""
    try:
        example.evaluate()
    except (ImportError, SybilFailure) as exc:
        # an import in a code block, a module whose docstrings these are, or a doctest's output
        missing = _missing_optional(exc.result if isinstance(exc, SybilFailure) else f"{exc} {exc.__cause__}")
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in OPTIONAL:
            missing = exc.name
        if missing:
            pytest.skip(f"{path} needs {missing}, which is not installed")
        raise


# -- commands shown in the docs ---------------------------------------------------------------
_COMMAND = re.compile(r"python3? ((?:examples|benchmarks)/[\w]+\.py)((?:[^\n`]|\\\n)*)")
# The MNIST scripts hand their flags to the experiments' command line.
_FLAG_SOURCES = {
    "examples/mnist_classification.py": ["focalboost/experiments/_cli.py"],
    "examples/mnist_segmentation.py": ["focalboost/experiments/_cli.py"],
}


def _prose_files() -> list[Path]:
    pages = [p for p in (ROOT / "docs").rglob("*.rst") if not p.relative_to(ROOT).as_posix().startswith(_BUILT)]
    return [ROOT / "README.md", *sorted(pages)]


def _commands() -> list[tuple[str, str, str]]:
    found = []
    for file in _prose_files():
        for script, args in _COMMAND.findall(file.read_text(encoding="utf-8")):
            found.append((file.relative_to(ROOT).as_posix(), script, args))
    return found


def test_commands_name_scripts_and_flags_that_exist():
    commands = _commands()
    assert len(commands) >= 10, commands  # the pattern still finds the commands
    for where, script, args in commands:
        assert (ROOT / script).is_file(), f"{where}: {script} does not exist"
        sources = [script, *_FLAG_SOURCES.get(script, [])]
        text = "".join((ROOT / s).read_text(encoding="utf-8") for s in sources)
        for flag in re.findall(r"(?<![\w-])--[a-z][\w-]*", args):
            assert f'"{flag}"' in text, f"{where}: {script} has no flag {flag}"


def test_relative_links_point_at_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\((?!https?://|#)([^)\s#]+)", readme)
    assert targets
    for target in targets:
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"
    for page in _prose_files()[1:]:
        for target in re.findall(r"\.\. (?:image|figure|literalinclude):: (\S+)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.relative_to(ROOT)}: {target} does not exist"


_MODULES = [
    "focalboost",
    "focalboost.lightgbm",
    "focalboost.xgboost",
    "focalboost.catboost",
    "focalboost.dask",
    "focalboost.torch",
    "focalboost.experiments",
]


@pytest.mark.parametrize("module", _MODULES)
def test_api_reference_lists_every_public_name(module):
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        pytest.skip(f"{module} does not import here: {exc}")
    text = (ROOT / "docs" / "api" / "index.rst").read_text(encoding="utf-8")
    section = text.split(f".. currentmodule:: {module}\n", 1)[1].split(".. currentmodule::", 1)[0]
    listed = set(re.findall(r"^   (\w+)$", section, flags=re.M))
    public = {name for name in mod.__all__ if not name.startswith("__")}
    assert public - listed == set(), f"docs/api/index.rst does not list {sorted(public - listed)} of {module}"
    assert listed - public == set(), f"docs/api/index.rst lists {sorted(listed - public)}, not in {module}.__all__"


def test_readme_is_one_short_page():
    assert len((ROOT / "README.md").read_text(encoding="utf-8")) <= 12_000
