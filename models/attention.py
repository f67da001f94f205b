"""Causal attention for the sequential models: fast (batched einsum) and reference (loops).

Shapes: ``q_BxLxHxK``, ``k_BxLxHxK``, ``v_BxLxHxV``; ``valid_BxL`` is True at real
(non-pad) positions. Query ``i`` sees key ``j`` iff ``j <= i`` (array index) and both are
real, so with any padding layout a real position sees exactly the real items up to it.
Padded query rows come out as zeros.

HSTU's pointwise attention: ``A_ij = SiLU(q_i . k_j + bias_ij) / n_i`` over the visible
keys, where ``n_i`` is the number of visible keys (real positions ``j <= i``); no softmax,
no ``1/sqrt(K)``. Dividing by ``n_i`` rather than by the padded length makes the result
independent of the padding (the reference's ``1/n`` counts pad slots).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_NEG = -1e30


def causal_mask(valid_BxL: jax.Array) -> jax.Array:
    L = valid_BxL.shape[1]
    causal_LxL = jnp.tril(jnp.ones((L, L), dtype=bool))
    return causal_LxL[None] & valid_BxL[:, :, None] & valid_BxL[:, None, :]


def pointwise_attention(q_BxLxHxK, k_BxLxHxK, v_BxLxHxV, bias_BxHxLxL, valid_BxL):
    """HSTU attention; ``bias_BxHxLxL`` may broadcast (e.g. ``Bx1xLxL`` shared by heads)."""
    mask_Bx1xLxL = causal_mask(valid_BxL)[:, None]
    n_Bx1xLx1 = jnp.maximum(mask_Bx1xLxL.sum(-1, keepdims=True), 1).astype(q_BxLxHxK.dtype)
    s_BxHxLxL = jnp.einsum("bihk,bjhk->bhij", q_BxLxHxK, k_BxLxHxK) + bias_BxHxLxL
    a_BxHxLxL = jnp.where(mask_Bx1xLxL, jax.nn.silu(s_BxHxLxL), 0.0) / n_Bx1xLx1
    return jnp.einsum("bhij,bjhv->bihv", a_BxHxLxL, v_BxLxHxV)


def softmax_attention(q_BxLxHxK, k_BxLxHxK, v_BxLxHxV, valid_BxL):
    """Scaled dot-product softmax attention over the visible keys (SASRec)."""
    mask_Bx1xLxL = causal_mask(valid_BxL)[:, None]
    scale = 1.0 / np.sqrt(q_BxLxHxK.shape[-1])
    s_BxHxLxL = jnp.einsum("bihk,bjhk->bhij", q_BxLxHxK, k_BxLxHxK) * scale
    p_BxHxLxL = jax.nn.softmax(jnp.where(mask_Bx1xLxL, s_BxHxLxL, _NEG), axis=-1)
    p_BxHxLxL = jnp.where(mask_Bx1xLxL, p_BxHxLxL, 0.0)
    return jnp.einsum("bhij,bjhv->bihv", p_BxHxLxL, v_BxLxHxV)


def _visible(valid_BxL, b: int, i: int) -> list[int]:
    valid = np.asarray(valid_BxL)
    return [j for j in range(i + 1) if valid[b, j]] if valid[b, i] else []


def _reference(v_BxLxHxV, valid_BxL, weights):
    """One query ``(b, i, h)`` at a time: ``weights(b, h, i, js)`` gives its attention
    weights over its visible keys ``js``; a query with none gets zeros."""
    B, L, H, _ = v_BxLxHxV.shape
    zero_V = jnp.zeros(v_BxLxHxV.shape[-1], v_BxLxHxV.dtype)
    rows = []
    for b in range(B):
        for i in range(L):
            js = np.array(_visible(valid_BxL, b, i), dtype=np.int32)
            for h in range(H):
                rows.append(weights(b, h, i, js) @ v_BxLxHxV[b, js, h] if len(js) else zero_V)
    return jnp.stack(rows).reshape(B, L, H, -1)


def pointwise_attention_reference(q_BxLxHxK, k_BxLxHxK, v_BxLxHxV, bias_BxHxLxL, valid_BxL):
    """``valid_BxL`` must be concrete."""
    B, L, H, _ = q_BxLxHxK.shape
    bias_BxHxLxL = jnp.broadcast_to(bias_BxHxLxL, (B, H, L, L))

    def weights(b, h, i, js):
        s_J = k_BxLxHxK[b, js, h] @ q_BxLxHxK[b, i, h] + bias_BxHxLxL[b, h, i, js]
        return s_J * jax.nn.sigmoid(s_J) / len(js)

    return _reference(v_BxLxHxV, valid_BxL, weights)


def softmax_attention_reference(q_BxLxHxK, k_BxLxHxK, v_BxLxHxV, valid_BxL):
    K = q_BxLxHxK.shape[-1]

    def weights(b, h, i, js):
        s_J = k_BxLxHxK[b, js, h] @ q_BxLxHxK[b, i, h] / np.sqrt(K)
        e_J = jnp.exp(s_J - s_J.max())
        return e_J / e_J.sum()

    return _reference(v_BxLxHxV, valid_BxL, weights)


# ---- HSTU's pointwise attention, fused (custom VJP) ------------------------------------
# The same function as ``pointwise_attention`` with a bias shared by the heads, shaped for
# speed: heads-major batched matmuls, the key mask applied by zeroing pad values and the
# query mask and ``1/n`` (from a cumulative count, not an [L, L] reduction) applied to the
# [B, H, L, V] output, so the only [B, H, L, L] elementwise work is the bias add, SiLU and
# the static causal select; the backward pass recomputes SiLU's derivative from the saved
# scores. The key mask needs no [L, L] select: a pad key's value is zero, so its weight's
# gradient ``g_i . v_j`` is exactly zero too.


def _heads(t):
    return jnp.swapaxes(t, 1, 2)


def _sum_leading(x_NxM: jax.Array) -> jax.Array:
    """``x.sum(0)`` as a product with ones: XLA's CPU reduction over a leading axis is tens
    of times slower than this matmul."""
    return jnp.ones(x_NxM.shape[0], x_NxM.dtype) @ x_NxM


def _fused_forward(q_BxLxHxK, k_BxLxHxK, v_BxLxHxV, bias_in_BxLxL, valid_BxL, shared_LxL):
    L = q_BxLxHxK.shape[1]
    bias_BxLxL = bias_in_BxLxL if shared_LxL is None else bias_in_BxLxL + shared_LxL
    valid_BxL = valid_BxL.astype(q_BxLxHxK.dtype)
    q_BxHxLxK, k_BxHxLxK = _heads(q_BxLxHxK), _heads(k_BxLxHxK)
    v_BxHxLxV = _heads(v_BxLxHxV) * valid_BxL[:, None, :, None]
    s_BxHxLxL = jnp.einsum("bhik,bhjk->bhij", q_BxHxLxK, k_BxHxLxK) + bias_BxLxL[:, None]
    a_BxHxLxL = jnp.where(np.tril(np.ones((L, L), bool)), jax.nn.silu(s_BxHxLxL), 0.0)
    scale_BxL = valid_BxL / jnp.maximum(jnp.cumsum(valid_BxL, axis=1), 1.0)
    out_BxLxHxV = _heads(jnp.einsum("bhij,bhjv->bhiv", a_BxHxLxL, v_BxHxLxV)) * scale_BxL[:, :, None, None]
    return out_BxLxHxV, (q_BxHxLxK, k_BxHxLxK, v_BxHxLxV, s_BxHxLxL, scale_BxL, valid_BxL, bias_in_BxLxL, shared_LxL)


def _fused_backward(residuals, dout_BxLxHxV):
    q_BxHxLxK, k_BxHxLxK, v_BxHxLxV, s_BxHxLxL, scale_BxL, valid_BxL, bias_in, shared_LxL = residuals
    B, H, L, _ = s_BxHxLxL.shape
    causal_LxL = np.tril(np.ones((L, L), bool))
    g_BxHxLxV = _heads(dout_BxLxHxV) * scale_BxL[:, None, :, None]
    sig = jax.nn.sigmoid(s_BxHxLxL)
    a_BxHxLxL = jnp.where(causal_LxL, s_BxHxLxL * sig, 0.0)
    dv_BxHxLxV = jnp.einsum("bhij,bhiv->bhjv", a_BxHxLxL, g_BxHxLxV) * valid_BxL[:, None, :, None]
    da_BxHxLxL = jnp.einsum("bhiv,bhjv->bhij", g_BxHxLxV, v_BxHxLxV)
    ds_BxHxLxL = jnp.where(causal_LxL, da_BxHxLxL * sig * (1 + s_BxHxLxL * (1 - sig)), 0.0)
    dq_BxHxLxK = jnp.einsum("bhij,bhjk->bhik", ds_BxHxLxL, k_BxHxLxK)
    dk_BxHxLxK = jnp.einsum("bhij,bhik->bhjk", ds_BxHxLxL, q_BxHxLxK)
    dbias_BxLxL = ds_BxHxLxL[:, 0] if H == 1 else jnp.einsum("bhij,h->bij", ds_BxHxLxL, jnp.ones(H, ds_BxHxLxL.dtype))
    if shared_LxL is not None or bias_in.shape[0] != B:
        dshared_LxL = _sum_leading(dbias_BxLxL.reshape(B, L * L)).reshape(L, L)
    dbias_in = dbias_BxLxL if bias_in.shape[0] == B else dshared_LxL[None]
    return _heads(dq_BxHxLxK), _heads(dk_BxHxLxK), _heads(dv_BxHxLxV), dbias_in, None, None if shared_LxL is None else dshared_LxL


@jax.custom_vjp
def pointwise_attention_fused(q_BxLxHxK, k_BxLxHxK, v_BxLxHxV, bias_BxLxL, valid_BxL, shared_LxL=None):
    """``pointwise_attention(q, k, v, (bias_BxLxL + shared_LxL)[:, None], valid)``: the bias
    is the same for all heads, ``shared_LxL`` (optional) the same for the whole batch."""
    return _fused_forward(q_BxLxHxK, k_BxLxHxK, v_BxLxHxV, bias_BxLxL, valid_BxL, shared_LxL)[0]


pointwise_attention_fused.defvjp(_fused_forward, _fused_backward)
