"""Build-time settings of the example gallery, importable by name (Sphinx caches the config)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

# Examples run at build time with small command-line settings; the others are shown, not run.
_ARGV = {
    "demo.py": ["--quick"],
    "multiclass.py": ["--quick"],
}
# Files an example writes (its --out) go here, never into the repository.
OUT = Path(tempfile.gettempdir()) / "focalboost-docs-gallery"


def reset_argv(gallery_conf: dict, script_vars: dict) -> list[str]:
    """Command-line arguments for an example run by sphinx-gallery."""
    name = Path(script_vars["src_file"]).name
    shutil.rmtree(OUT, ignore_errors=True)  # called before each example runs: start it empty
    if name == "focal_curves.py":
        OUT.mkdir(parents=True)
        return ["--out", str(OUT / "focal_curves.png")]
    return list(_ARGV.get(name, []))


def png_scraper(block, block_vars, gallery_conf):
    """The PNG files an example wrote into OUT during a code block, as gallery images.

    focalboost's figures are drawn on ``matplotlib.figure.Figure`` objects, not through pyplot,
    so sphinx-gallery's matplotlib scraper does not see them; the files they are saved to are
    picked up here instead.
    """
    if not OUT.is_dir():
        return ""
    written = sorted(OUT.glob("*.png"))
    paths = []
    for png, target in zip(written, block_vars["image_path_iterator"], strict=False):
        shutil.move(str(png), target)
        paths.append(target)
    return figure_rst(paths, gallery_conf["src_dir"])
