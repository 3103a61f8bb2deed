"""Sphinx configuration of the focalboost documentation.

Build: ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` (needs the ``docs``
extra, and the ``all`` extra for the API pages and the examples that run at build time).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # focalboost from this checkout
sys.path.insert(0, str(HERE))  # _gallery

os.environ.setdefault("MPLBACKEND", "Agg")
# The gallery runs LightGBM and XGBoost in this process: idle OpenMP threads that sleep instead of
# spinning keep a busy machine from slowing them down many times (results do not change).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import focalboost  # noqa: E402

project = "focalboost"
author = "the focalboost developers"
copyright = "the focalboost developers, MIT license"
version = release = focalboost.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "auto_examples/*.ipynb", "auto_examples/*.py", "**/*.md5"]
source_suffix = {".rst": "restructuredtext"}
root_doc = "index"

# -- API reference ----------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"  # the numpydoc Parameters sections carry the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- example gallery --------------------------------------------------------------------------
# Run at build time: the examples that finish in seconds (demo and multiclass with --quick, see
# _gallery.py). The Dask cluster and the MNIST studies are shown without running.
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": (
        r"/(focal_curves|demo|multiclass|lightgbm_imbalanced|xgboost_imbalanced|catboost_imbalanced)\.py$"
    ),
    "reset_argv": "_gallery.reset_argv",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "write_computation_times": False,
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib", "_gallery.png_scraper"),
}

# -- HTML -------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"focalboost {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_static_path: list[str] = []
html_show_sourcelink = False


def _skip_member(app, what, name, obj, skip, options):
    # scikit-learn adds set_{fit,predict,...}_request (metadata routing) to every estimator
    # class; they are scikit-learn's, documented there.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
