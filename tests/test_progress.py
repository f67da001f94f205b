import io

from sweeps import runner, spec as spec_mod
from sweeps.progress import Progress

TINY = {
    "name": "progress",
    "arch": "dlrm",
    "base": {"model": {"embed_dim": 2, "rows": 64, "bottom_mlp": [4], "top_mlp": [4]}, "data.examples": 2048},
    "axes": {"horizontal": [1, 2]},
}


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_plain_lines_when_not_a_terminal(tmp_path):
    out = io.StringIO()
    runner.run(spec_mod.parse(TINY), tmp_path, progress=Progress(out))
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["[1/2]", "[2/2]"]
    assert all("eta" in line for line in lines) and "\r" not in out.getvalue()


def test_live_status_line_on_a_terminal(tmp_path):
    out = _Tty()
    runner.run(spec_mod.parse(TINY), tmp_path, progress=Progress(out))
    text = out.getvalue()
    assert "\r\033[K0/2 done | running " in text  # the running trial is shown before it ends
    assert "[2/2]" in text and text.endswith("\r\033[K")
