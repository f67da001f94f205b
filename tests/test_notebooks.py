"""The notebooks run top to bottom on a fresh kernel in quick mode and draw their figures;
the committed notebooks carry no outputs.

Quick mode (RECSCALE_QUICK=1) makes each notebook run a small spec into a temporary
RECSCALE_RUNS. Two kernels run at once (CI has 2 cores): 02 alone, 03 then 01, which
train the same model shapes; the kernels inherit the run's compilation cache
(``tests/conftest.py``), so 01 compiles nothing.
"""

import asyncio
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
# Figures each notebook must draw in quick mode (its display(fig) calls that always run).
MIN_FIGURES = {"01_quickstart": 2, "02_compare_architectures": 2, "03_seed_table": 4}
CHAINS = (("03_seed_table", "01_quickstart"), ("02_compare_architectures",))


def test_every_notebook_is_tested_and_committed_without_outputs():
    names = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == sorted(MIN_FIGURES)
    for name in names:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name}: strip the outputs before committing"


def _client(nb) -> NotebookClient:
    # kernel_name python3 resolves to the ipykernel of this interpreter (the venv's).
    return NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})


async def _run_chain(names, results):
    for name in names:
        nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
        try:
            await _client(nb).async_execute()
            results[name] = nb
        except Exception as e:  # noqa: BLE001 - reported by the notebook's own test
            results[name] = e


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    env = {
        "RECSCALE_QUICK": "1",
        "RECSCALE_RUNS": str(tmp_path_factory.mktemp("runs")),
        "MPLBACKEND": "Agg",
        "WANDB_MODE": "disabled",
    }
    results = {}

    async def run_all():
        await asyncio.gather(*(_run_chain(chain, results) for chain in CHAINS))

    with pytest.MonkeyPatch.context() as mp:  # the kernels inherit this environment
        for k, v in env.items():
            mp.setenv(k, v)
        asyncio.run(run_all())
    return results


def test_the_kernel_is_this_interpreter():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import sys; print(sys.executable)")]
    _client(nb).execute()
    assert Path(nb.cells[0].outputs[0]["text"].strip()).resolve() == Path(sys.executable).resolve()


@pytest.mark.parametrize("name", sorted(MIN_FIGURES))
def test_notebook_runs_in_quick_mode_and_draws_its_figures(executed, name):
    nb = executed[name]
    if isinstance(nb, Exception):
        pytest.fail(f"{name} failed:\n{nb}")
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= MIN_FIGURES[name]
    summaries = [o["data"]["text/plain"] for o in outputs if "SweepSummary(" in o.get("data", {}).get("text/plain", "")]
    assert len(summaries) == 1 and "failed=0" in summaries[0]  # the sweep ran (or resumed) without failures
