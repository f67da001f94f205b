"""Same seed, same bits: the synthetic worlds are pure functions of (seed, stream, block),
whatever the order of requests and however many threads BLAS uses."""

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sweeps.data import ctr_world
from sweeps.data.blocks import THREADS_ENV, data_threads
from sweeps.data.ctr_world import TRAIN_STREAM, WorldConfig, world
from sweeps.data.seq_world import BLOCK, SeqConfig, SeqWorld, exact_logits, on_grid

ROOT = Path(__file__).resolve().parents[1]
SEQ = SeqConfig(world=WorldConfig(n_items=300), max_len=24, min_len=8)
U = 3 * BLOCK
CTR_N = 2 * ctr_world.BLOCK + 100

FINGERPRINT = f"""
import hashlib, sys
import numpy as np
from sweeps.data.ctr_world import TRAIN_STREAM, WorldConfig, world
from sweeps.data.seq_world import SeqConfig, SeqWorld
h = hashlib.sha256()
for a in SeqWorld(SeqConfig(world=WorldConfig(n_items=300), max_len=24, min_len=8)).users({U}).arrays():
    h.update(np.ascontiguousarray(a).tobytes())
b = world().examples(TRAIN_STREAM, 0, {CTR_N})
for a in (b.dense, *b.ids.values(), b.label, b.prob):
    h.update(np.ascontiguousarray(a).tobytes())
print(h.hexdigest())
"""


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _seq_orders():
    yield "all at once", SeqWorld(SEQ).users(U)
    w = SeqWorld(SEQ)
    w.users(5)
    w.users(BLOCK + 3)
    yield "growing", w.users(U)
    w = SeqWorld(SEQ)
    w.users(2 * BLOCK - 1)
    yield "two blocks then the rest", w.users(U)


def _ctr_batches():
    w = world()
    yield "all at once", w.examples(TRAIN_STREAM, 0, CTR_N)
    parts = [w.examples(TRAIN_STREAM, a, b) for a, b in [(ctr_world.BLOCK + 7, CTR_N), (0, ctr_world.BLOCK + 7)]]
    yield "back to front", ctr_world._concat(parts[::-1])
    fresh = ctr_world.CTRWorld(WorldConfig())
    fresh.train(11)
    yield "growing prefix", fresh.train(CTR_N)


def _batch_arrays(b):
    return (b.dense, *b.ids.values(), b.label, b.prob)


def test_sequential_world_is_bit_identical_in_any_request_order():
    digests = {name: _digest(d.arrays()) for name, d in _seq_orders()}
    assert len(set(digests.values())) == 1, digests
    small = SeqWorld(SEQ).users(BLOCK - 7)
    for a, b in zip(small.arrays(), SeqWorld(SEQ).users(U).head(BLOCK - 7).arrays()):
        np.testing.assert_array_equal(a, b)


def test_ctr_world_is_bit_identical_in_any_request_order():
    digests = {name: _digest(_batch_arrays(b)) for name, b in _ctr_batches()}
    assert len(set(digests.values())) == 1, digests


def _thread_env(blas: str, data: str) -> dict:
    """BLAS threads, and the threads that generate blocks side by side (``map_blocks``)."""
    return {**os.environ, **{k: blas for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
            THREADS_ENV: data}


THREADS = [("1", "1"), ("2", "3")]  # (BLAS, data): one thread everywhere; more data threads than cores


@pytest.mark.parametrize(("blas", "data"), THREADS)
def test_worlds_are_bit_identical_with_any_blas_or_data_thread_count(blas, data):
    h = hashlib.sha256()
    for a in SeqWorld(SEQ).users(U).arrays():
        h.update(np.ascontiguousarray(a).tobytes())
    for a in _batch_arrays(world().examples(TRAIN_STREAM, 0, CTR_N)):
        h.update(np.ascontiguousarray(a).tobytes())
    env = _thread_env(blas, data)
    out = subprocess.run(
        [sys.executable, "-c", FINGERPRINT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == h.hexdigest()


def test_exact_logits_do_not_depend_on_the_batch_they_are_computed_in():
    rng = np.random.default_rng(0)
    q_UxK = (rng.standard_normal((300, 97)) * 3).astype(np.float32)
    f_KxN = on_grid(rng.standard_normal((97, 1000)) * 4)
    alone = exact_logits(q_UxK[:7], f_KxN, np.empty((7, 1000), np.float32))
    within = exact_logits(q_UxK, f_KxN, np.empty((300, 1000), np.float32))[:7]
    reversed_rows = exact_logits(q_UxK[::-1].copy(), f_KxN, np.empty((300, 1000), np.float32))[::-1][:7]
    np.testing.assert_array_equal(alone, within)
    np.testing.assert_array_equal(alone, reversed_rows)
    # the reduction order does not matter either: the same sum with its terms reversed
    flipped = exact_logits(q_UxK[:7, ::-1].copy(), f_KxN[::-1].copy(), np.empty((7, 1000), np.float32))
    np.testing.assert_array_equal(alone, flipped)
    np.testing.assert_allclose(alone, q_UxK[:7].astype(np.float64) @ (f_KxN * 2.0**-16), atol=1e-3)


@pytest.mark.parametrize("raw", ["0", "two", "-1"])
def test_a_bad_data_thread_count_is_refused_by_name(raw, monkeypatch):
    monkeypatch.setenv(THREADS_ENV, raw)
    with pytest.raises(ValueError, match=THREADS_ENV):
        data_threads()


def test_exact_logits_refuse_operands_too_large_to_be_exact():
    big = np.full((2, 4), 2.0**30, np.float32)
    with pytest.raises(ArithmeticError, match="too large"):
        exact_logits(big, on_grid(np.full((4, 3), 2.0**10)), np.empty((2, 3), np.float32))


IMPRESSIONS = dict(length=24, eval_users=256, valid_users=256, eval_tail=4, bag_len=4)
IMPRESSION_N = 2 * BLOCK * 24 + 100  # three blocks of users, generated side by side when there are threads
IMPRESSION_FINGERPRINT = f"""
import hashlib
import numpy as np
from sweeps.data.impression_world import ImpressionConfig, ImpressionWorld
w = ImpressionWorld(ImpressionConfig(**{IMPRESSIONS!r}))
h = hashlib.sha256()
b = w.train({IMPRESSION_N})
for a in (*w.users(3 * {BLOCK}).arrays(), b.dense, *b.ids.values(), b.label, b.prob):
    h.update(np.ascontiguousarray(a).tobytes())
print(h.hexdigest())
"""


@pytest.fixture(scope="module")
def impression_fingerprint():
    """The same digest computed in this process (whatever its BLAS and data threads)."""
    from sweeps.data.impression_world import ImpressionConfig, ImpressionWorld

    w = ImpressionWorld(ImpressionConfig(**IMPRESSIONS))
    b = w.train(IMPRESSION_N)
    return _digest((*w.users(3 * BLOCK).arrays(), *_batch_arrays(b)))


@pytest.mark.parametrize(("blas", "data"), THREADS)
def test_impression_world_is_bit_identical_with_any_blas_or_data_thread_count(blas, data, impression_fingerprint):
    env = _thread_env(blas, data)
    out = subprocess.run(
        [sys.executable, "-c", IMPRESSION_FINGERPRINT], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == impression_fingerprint
