"""Sphinx configuration of the credscore documentation.

Build (warnings are errors, as in CI)::

    python -m sphinx -W -b html docs docs/_build/html
"""

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import credscore  # noqa: E402

project = "credscore"
author = "credscore developers"
copyright = "credscore developers"
release = version = credscore.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
]

autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()
nitpicky = False
intersphinx_mapping = {}  # offline builds: no inventories fetched
templates_path = []
exclude_patterns = ["_build", "_generated/README*", "**.ipynb_checkpoints"]
html_theme = "alabaster"
html_static_path = []
html_theme_options = {"description": "Source-credibility scoring of quantitative claims", "fixed_sidebar": True}
suppress_warnings = ["autosummary.import_cycle"]

# The benchmark results live in benchmarks/ (outside docs/): copy them in at build time.
_generated = Path(__file__).resolve().parent / "_generated"
_generated.mkdir(exist_ok=True)
for _name in ("RESULTS.md", "RESULTS-methods.md"):
    _src = ROOT / "benchmarks" / _name
    _dst = _generated / _name
    if _src.exists():
        shutil.copyfile(_src, _dst)
    else:
        _dst.write_text(f"(benchmarks/{_name} is not in this checkout.)\n", encoding="utf-8")
