"""Execute the example notebooks (examples/*.ipynb) with nbclient, as a newcomer would run them.

Skipped when nbclient, nbformat, ipykernel or matplotlib is not installed
(``pip install -e '.[notebooks]'`` installs them). Each notebook runs in a
fresh kernel with ``examples/`` as its working directory (inline figures);
any cell error fails the test with the cell's traceback. The notebooks are
committed with their outputs stripped: this test checks that too.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
#: Per-notebook budget (seconds); the whole set stays under a minute on CI's 2 cores.
BUDGET = 45.0


def _deps():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    return nbformat, nbclient


def test_examples_exist():
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01_seed_case.ipynb", "02_truth_discovery_population.ipynb", "03_comparing_methods.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_outputs_stripped(path):
    nbformat, _ = _deps()
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs not stripped"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    nbformat, nbclient = _deps()
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}})
    t0 = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - t0
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                     if o.output_type == "stream")
    if path.stem.startswith("01"):
        assert "nk_troops_in_russia" in text and "P(NIS 1,500 accurate)" in text
        images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
        assert len(images) >= 3  # forest plot, agreement heatmap, reliability chart
    if path.stem.startswith("02") and "Skipping this notebook" not in text:
        assert "coverage" in text
    if path.stem.startswith("03") and "nothing to compare" not in text:
        assert "credscore" in text and "mae" in text
    assert elapsed < BUDGET or os.environ.get("CREDSCORE_SLOW_OK"), f"{path.name} took {elapsed:.0f} s"


DOCS = Path(__file__).resolve().parents[1] / "docs"
GUIDE = sorted((DOCS / "user_guide").glob("*.rst")) if DOCS.exists() else []


@pytest.mark.parametrize("path", GUIDE, ids=[p.stem for p in GUIDE])
def test_user_guide_doctests(path):
    """The examples of the user guide (docs/user_guide/*.rst) run as doctests."""
    import doctest

    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    result = doctest.testfile(str(path), module_relative=False, verbose=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{path.name}: {result.failed} of {result.attempted} examples failed"
