"""The validation streams: disjoint from training and evaluation, pure functions of (seed,
stream, block) like the rest of the worlds. What trials report on them is checked on
trials other tests train anyway: tests/test_train.py (CTR), tests/test_impression_study.py
(generative), tests/test_train_seq.py (retrieval)."""

import numpy as np

from sweeps.data import ctr_world, impression_world
from sweeps.data.ctr_world import EVAL_STREAM, TRAIN_STREAM, VALID_STREAM, CTRWorld, WorldConfig
from sweeps.data.impression_world import VALID_BLOCK, ImpressionConfig, ImpressionWorld

SMALL = WorldConfig(eval_examples=ctr_world.BLOCK, valid_examples=ctr_world.BLOCK + 100)


def _rows(b) -> set[bytes]:
    """Each example's dense features and ids as bytes: two streams sharing an example would
    share a row (the dense features are continuous draws, a chance match has probability ~0)."""
    ids = np.stack([b.ids[k] for k in ("user", "item", "context")], 1)
    return {d.tobytes() + i.tobytes() for d, i in zip(b.dense, ids)}


def test_ctr_validation_is_its_own_stream_disjoint_from_training_and_evaluation():
    w = CTRWorld(SMALL)
    valid = w.valid_set
    assert len(valid) == SMALL.valid_examples
    rows = _rows(valid)
    assert len(rows) == len(valid)
    assert not rows & _rows(w.eval_set)
    assert not rows & _rows(w.train(2 * ctr_world.BLOCK))
    # the same teacher: validation is drawn from the evaluation set's distribution
    assert abs(valid.prob.mean() - w.eval_set.prob.mean()) < 0.02


def test_ctr_validation_is_a_pure_function_of_seed_stream_and_block():
    w = CTRWorld(SMALL)
    w.examples(TRAIN_STREAM, 0, 10)
    w.examples(EVAL_STREAM, 5, 20)
    late = w.valid_set
    fresh = CTRWorld(SMALL)
    tail = fresh.examples(VALID_STREAM, ctr_world.BLOCK, SMALL.valid_examples)  # the second block first
    head = fresh._block(VALID_STREAM, 0)
    for a, b in [(late.dense, np.concatenate([head.dense, tail.dense])), (late.prob, np.concatenate([head.prob, tail.prob])),
                 (late.label, np.concatenate([head.label, tail.label]))]:
        np.testing.assert_array_equal(a, b)
    other = CTRWorld(WorldConfig(seed=1, eval_examples=8, valid_examples=8)).valid_set
    assert not np.array_equal(other.dense, late.dense[:8])


def test_impression_validation_users_are_their_own_blocks():
    cfg = ImpressionConfig(length=24, eval_tail=8, eval_users=impression_world.BLOCK)
    w = ImpressionWorld(cfg)
    valid = w.valid_users
    assert len(valid) == cfg.valid_users
    items = lambda users: {row.tobytes() for row in users.item}  # noqa: E731 - a user's whole stream
    assert not items(valid) & items(w.eval_users)
    assert not items(valid) & items(w.users(impression_world.BLOCK))
    again = ImpressionWorld(cfg).block(VALID_BLOCK)
    for a, b in zip(valid.arrays(), again.arrays()):
        np.testing.assert_array_equal(a, b)
    assert len(w.valid_set) == cfg.valid_users * cfg.eval_tail
