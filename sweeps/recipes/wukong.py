"""The Wukong recipe: model knobs and scaling axes, on the CTR task beside DLRM.

Axes: ``horizontal`` = embedding width d, ``vertical`` = rows per table, ``mlp`` = the
widest layer of each FMB's MLP, ``overarch`` = the widest layer of the final MLP,
``depth`` = interaction layers l, and ``overall`` = the paper's dense upscaling
(Zhang et al. 2024, sec. 6): the embedding tables (rows, d) stay fixed and the
interaction stack grows *depth first, then the widths together*. At value ``s`` the
depth is ``round(l * s)``, clipped to ``[1, MAX_LAYERS]``, and the widths (n_F, n_L, k,
the FMB MLP and the final MLP) are scaled by what depth did not take, ``s * l / depth``:
with the base ``l = 2`` and a cap of 8, ``s = 0.5, 1, 2, 4`` give 1, 2, 4, 8 layers at the
base widths, ``s = 8`` gives 8 layers of twice the widths, ``s = 0.25`` one layer of half
of them. ``data`` and ``compute`` as for every architecture.
"""

from __future__ import annotations

import dataclasses

from models import wukong
from sweeps.config import checked
from sweeps.data.ctr_world import Field
from sweeps.recipes import CTR_BATCH_RULE, Axis, check_activation, overall_axis, scaled, scaled_all, sparse_tables, widest_at

TASK = "ctr"
BATCH_RULE = CTR_BATCH_RULE
MAX_LAYERS = 8  # depth where dense upscaling turns to the widths


@dataclasses.dataclass(frozen=True)
class ModelKnobs:
    embed_dim: int = checked(16)
    rows: int = checked(8192)  # rows per table, capped at the field's cardinality
    n_dense_emb: int = checked(2)
    dense_mlp: tuple[int, ...] = checked((64,))
    n_layers: int = checked(2)
    n_fm: int = checked(8)
    n_lc: int = checked(8)
    fm_rank: int = checked(8)
    fmb_mlp: tuple[int, ...] = checked((64,))
    top_mlp: tuple[int, ...] = checked((64, 32))
    activation: str = checked("relu", check_activation)


def build(spec: ModelKnobs, n_dense: int, fields: tuple[Field, ...]) -> wukong.Config:
    """Every knob but ``rows`` is a field of ``wukong.Config`` of the same name."""
    knobs = {k: v for k, v in dataclasses.asdict(spec).items() if k != "rows"}
    return wukong.Config(n_dense=n_dense, **sparse_tables(spec.rows, fields), **knobs)


def dense_upscaling(s: float, base: ModelKnobs) -> dict:
    """Depth first (up to ``MAX_LAYERS``), then n_F, n_L, k and both MLPs' widths together."""
    depth = min(max(1, round(base.n_layers * s)), max(MAX_LAYERS, base.n_layers))
    width = s * base.n_layers / depth
    return {
        "model.n_layers": depth,
        "model.n_fm": scaled(base.n_fm, width),
        "model.n_lc": scaled(base.n_lc, width),
        "model.fm_rank": scaled(base.fm_rank, width),
        "model.fmb_mlp": scaled_all(base.fmb_mlp, width),
        "model.top_mlp": scaled_all(base.top_mlp, width),
    }


AXES = {
    "horizontal": Axis("horizontal", "embedding dimension d", lambda v, base: {"model.embed_dim": v}),
    "vertical": Axis("vertical", "embedding rows per table (hash size)", lambda v, base: {"model.rows": v}),
    "mlp": Axis(
        "mlp", "width of the widest layer of each FMB's MLP, proportions kept",
        lambda v, base: {"model.fmb_mlp": widest_at(base.fmb_mlp, v)},
    ),
    "overarch": Axis(
        "overarch", "width of the widest final-MLP layer, proportions kept",
        lambda v, base: {"model.top_mlp": widest_at(base.top_mlp, v)},
    ),
    "depth": Axis("depth", "interaction layers l", lambda v, base: {"model.n_layers": v}),
    "overall": dataclasses.replace(
        overall_axis(dense_upscaling),
        doc=f"dense upscaling: tables fixed, depth x value first (up to {MAX_LAYERS} layers), then the widths",
    ),
}
