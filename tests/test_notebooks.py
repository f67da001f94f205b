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

from models import hstu_gen
from sweeps import spec as spec_mod, store, tasks

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
def runs(tmp_path_factory):
    """Where the notebooks' quick sweeps are written (``RECSCALE_RUNS``)."""
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def executed(runs):
    env = {
        "RECSCALE_QUICK": "1",
        "RECSCALE_RUNS": str(runs),
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


# Notebook 02 runs the quick generative-ranking study (sweeps/specs/generative_ranking_quick.yaml):
# the suite checks that study's records here instead of training it a second time.
GEN_QUICK = Path(__file__).resolve().parents[1] / "sweeps" / "specs" / "generative_ranking_quick.yaml"


@pytest.fixture(scope="module")
def generative_quick(executed, runs):
    nb = executed["02_compare_architectures"]
    if isinstance(nb, Exception):
        pytest.fail(f"02_compare_architectures failed:\n{nb}")
    return list(store.read_all(runs / spec_mod.load(GEN_QUICK).name))


def test_the_quick_generative_study_trains_all_three_and_every_trial_learns(generative_quick):
    records = generative_quick
    assert len(records) == len(spec_mod.expand(spec_mod.load(GEN_QUICK)))
    assert {r.arch for r in records} == {"dlrm", "hstu_gen", "hstu_rank"}
    assert len({r.floor_ne for r in records}) == 1  # one eval set for all three
    for r in records:
        assert r.status == "finished", r.message
        assert r.floor_ne < r.final_metrics["ne"] < 1, (r.arch, r.final_metrics)
        assert r.train_flops == pytest.approx(r.flops_per_example["train"] * r.examples_seen)


def test_generative_records_count_flops_per_label(generative_quick):
    (gen,) = [r for r in generative_quick if r.arch == "hstu_gen"]
    (trial,) = [t for t in spec_mod.expand(spec_mod.load(GEN_QUICK)) if t.config.arch == "hstu_gen"]
    model_cfg = tasks.model_config(trial.config)
    assert gen.flops_per_example["forward"] == hstu_gen.forward_flops(model_cfg)
    # per label: a whole sequence's forward FLOPs over its labels, and labels = impressions trained on
    assert gen.flops_per_example["forward"] == pytest.approx(hstu_gen.sequence_flops(model_cfg) / model_cfg.max_events, abs=1)
    assert gen.examples_seen % model_cfg.max_events == 0
