"""The suite's schedule names real modules: a renamed module left in ``LONGEST_FIRST`` would
silently drop back to the end of the run."""

from pathlib import Path

from conftest import LONGEST_FIRST


def test_every_module_scheduled_first_exists_once():
    here = Path(__file__).parent
    assert len(set(LONGEST_FIRST)) == len(LONGEST_FIRST)
    assert [name for name in LONGEST_FIRST if not (here / f"{name}.py").is_file()] == []
