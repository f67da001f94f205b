"""Synthetic CTR data with a known optimum: the embedded default data set.

The generative process
----------------------
A fixed *world* (drawn once from ``WorldConfig.seed``) holds a "teacher" click model.
Every example is a pure function of ``(seed, stream, index)``: examples come in blocks of
``BLOCK`` rows and block ``b`` of a stream is drawn from ``default_rng([seed, stream, b])``
(blocks are generated side by side on threads, ``blocks.map_blocks``: 1M examples in 1.7 s
on 2 cores, 3.4 s on one), so a data budget of D examples is exactly the first D of the
training stream (larger budgets contain smaller ones), and the evaluation set and the validation set are the
first ``eval_examples`` and ``valid_examples`` (32,768 each by default) of two further
fixed streams. The three streams never share a block's generator, so validation is
disjoint from training and evaluation by construction (drawn from the same
distribution): per-point selection (a spec's ``select:``) and early stopping choose on
validation and the evaluation set is only ever reported.

Features of one example:

* ``dense``: ``n_dense`` features, uniform on [-pi, pi];
* ``user``, ``item``, ``context``: one-hot ids, Zipf-distributed popularity (exponents
  0.8-1.1; by default 2000 users, 1000 items, 168 contexts), scrambled by a fixed
  permutation so that an id's value says nothing about its popularity;
* ``category``: a deterministic function of the item (1000 items share 400 categories);
* ``history``: a multi-hot bag of ``history_len`` recently seen items (Zipf, sum-pooled).

The teacher's logit is a sum of terms, each giving one scaling axis something to learn:

* **low-rank user x item affinity** ``u_user . v_item`` over ``rank`` factors whose
  variances decay like ``k^-factor_decay``: a model with embedding width d recovers about
  the first d factors, the residual variance falls like ``d^(1-decay)``, so quality
  improves as a power law in width (*horizontal* axis);
* **history affinity** ``mean_h(v_h) . v_item``, the same factors seen through the bag;
* **per-id biases** for every field: ids are Zipf-distributed and the model hashes them
  modulo its table rows, so more rows mean fewer collisions among the long tail; the
  collided probability mass shrinks as a power of the rows (*vertical* axis);
* **a non-linear dense part**: per feature, a sum of sines at many frequencies with
  amplitudes decaying like ``m^-dense_decay``; an MLP with more units resolves more
  frequencies (*MLP* axis);
* **context x category** cross biases, a second-order term for the over-arch: a full-rank
  168 x 400 table, which one dot product of d-wide embeddings holds only at rank d.
  Measured (issue 16; the quickstart's DLRM at 2^21 examples, 3 seeds): NE 0.6532 with
  over-arch 16, 0.6418 with 512, a gain of 0.011 against a seed sd of 0.003; in a world
  without this term the gain is -0.001 (within noise), without the dense part 0.005, so
  what a wider over-arch learns here is mostly this term. At 2^19 examples the gain is
  0.030 against a seed sd of 0.010.

Rare ids and fine structure (high factors, high frequencies, tail ids) need many
examples to be estimated, so quality also improves with the number of examples (*data*
axis) over more than a decade before the fixed model size saturates it.

The default sizes were chosen so that a 2^19-example trial is neither hopelessly
data-starved nor converged: with 10x larger vocabularies every parameter axis was flat
(models could not learn the extra capacity from the data), and with a weaker dense part
the MLP axis drowned in seed noise.

Labels are Bernoulli draws from the teacher probability ``p``. Because ``p`` is known,
the Bayes-optimal NE of the evaluation set can be computed exactly from ``eval_set.prob``
(the CTR task's floor, ``sweeps.tasks.ctr.floor``); the evaluation also scores a model by
its *expected* log loss under ``p``, which removes label noise from the metric.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Mapping

import numpy as np

from sweeps.data.blocks import map_blocks

BLOCK = 8192
TRAIN_STREAM = 0
EVAL_STREAM = 1
VALID_STREAM = 2


@dataclasses.dataclass(frozen=True)
class Field:
    name: str
    cardinality: int
    zipf: float = 1.05
    bag: int = 0  # 0: one-hot id of shape [N]; L > 0: multi-hot bag of shape [N, L]


@dataclasses.dataclass(frozen=True)
class WorldConfig:
    seed: int = 0
    n_dense: int = 4
    n_users: int = 2_000
    n_items: int = 1_000
    n_categories: int = 400
    n_contexts: int = 168
    history_len: int = 8
    rank: int = 96
    factor_decay: float = 1.3
    affinity_scale: float = 1.4
    history_scale: float = 0.6
    bias_scale: float = 0.5
    dense_terms: int = 6
    dense_decay: float = 0.5
    dense_scale: float = 2.0
    cross_scale: float = 0.5
    base_logit: float = -1.3
    eval_examples: int = 32_768
    valid_examples: int = 32_768

    @property
    def fields(self) -> tuple[Field, ...]:
        return (
            Field("user", self.n_users, 1.05),
            Field("item", self.n_items, 1.1),
            Field("category", self.n_categories, 1.0),
            Field("context", self.n_contexts, 0.8),
            Field("history", self.n_items, 1.1, bag=self.history_len),
        )


@dataclasses.dataclass(frozen=True)
class Batch:
    """Examples as arrays: ``dense_NxF``, ``ids`` per field, labels and teacher probs."""

    dense: np.ndarray
    ids: Mapping[str, np.ndarray]
    label: np.ndarray
    prob: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    def slice(self, start: int, stop: int) -> "Batch":
        return Batch(
            self.dense[start:stop],
            {k: v[start:stop] for k, v in self.ids.items()},
            self.label[start:stop],
            self.prob[start:stop],
        )

    def as_inputs(self) -> dict:
        return {"dense": self.dense, "ids": dict(self.ids)}


def _zipf_cdf(n: int, s: float) -> np.ndarray:
    w = np.arange(1, n + 1, dtype=np.float64) ** -s
    cdf = np.cumsum(w)
    return cdf / cdf[-1]


def factor_sd(cfg: WorldConfig) -> np.ndarray:
    """Per-factor standard deviation of the user and item factors: factor k carries a
    share ~ k^-factor_decay of var(u.v), and var(u.v) = 1 over the full rank."""
    k = np.arange(1, cfg.rank + 1, dtype=np.float64)
    sd = k ** (-cfg.factor_decay / 4)
    return sd / np.sqrt(np.sqrt(np.sum(sd**4)))


def _concat(parts: list[Batch]) -> Batch:
    return Batch(
        np.concatenate([x.dense for x in parts]),
        {k: np.concatenate([x.ids[k] for x in parts]) for k in parts[0].ids},
        np.concatenate([x.label for x in parts]),
        np.concatenate([x.prob for x in parts]),
    )


class CTRWorld:
    """The teacher and the example streams of one world (cheap to share, immutable)."""

    def __init__(self, cfg: WorldConfig = WorldConfig()):
        self.cfg = cfg
        rng = np.random.default_rng([cfg.seed, 7919])
        sd = factor_sd(cfg)
        self.user_f = (rng.standard_normal((cfg.n_users, cfg.rank)) * sd).astype(np.float32)
        self.item_f = (rng.standard_normal((cfg.n_items, cfg.rank)) * sd).astype(np.float32)
        self.item_category = rng.integers(0, cfg.n_categories, cfg.n_items)
        self.bias = {
            f.name: (rng.standard_normal(f.cardinality) * cfg.bias_scale).astype(np.float32)
            for f in cfg.fields
            if f.name != "history"
        }
        self.cross = (rng.standard_normal((cfg.n_contexts, cfg.n_categories)) * cfg.cross_scale).astype(np.float32)
        m = np.arange(1, cfg.dense_terms + 1, dtype=np.float64)
        amp = m ** -cfg.dense_decay
        amp *= cfg.dense_scale / np.sqrt(0.5 * np.sum(amp**2) * cfg.n_dense)
        self.dense_amp = amp
        self.dense_freq = m
        self.dense_phase = rng.uniform(0, 2 * np.pi, (cfg.n_dense, cfg.dense_terms))
        self.perm = {f.name: rng.permutation(f.cardinality) for f in cfg.fields if f.name != "category"}
        self.cdf = {f.name: _zipf_cdf(f.cardinality, f.zipf) for f in cfg.fields if f.name != "category"}
        self._train: Batch | None = None

    @property
    def fields(self) -> tuple[Field, ...]:
        return self.cfg.fields

    def _draw_ids(self, rng: np.random.Generator, name: str, shape) -> np.ndarray:
        rank = np.searchsorted(self.cdf[name], rng.random(shape))
        return self.perm[name][rank]

    def teacher_logit(self, dense: np.ndarray, ids: Mapping[str, np.ndarray]) -> np.ndarray:
        c = self.cfg
        u, i, hist = ids["user"], ids["item"], ids["history"]
        vi = self.item_f[i]
        logit = c.base_logit + c.affinity_scale * np.einsum("nk,nk->n", self.user_f[u], vi)
        logit += c.history_scale * np.einsum("nk,nk->n", self.item_f[hist].mean(axis=1), vi) * np.sqrt(c.history_len)
        for name in ("user", "item", "category", "context"):
            logit += self.bias[name][ids[name]]
        logit += self.cross[ids["context"], ids["category"]]
        logit += self.dense_term(dense)
        return logit

    def dense_term(self, dense: np.ndarray) -> np.ndarray:
        """sum_f sum_m amp_m sin(m x_f + phase_fm): Horner's rule in z = exp(i x), no sin per term."""
        z = np.exp(1j * dense)  # NxF
        coef = self.dense_amp * np.exp(1j * self.dense_phase)  # FxM
        acc = np.zeros_like(z)
        for m in range(coef.shape[1] - 1, -1, -1):
            acc = (acc + coef[:, m]) * z
        return acc.imag.sum(axis=1)

    def _block(self, stream: int, b: int) -> Batch:
        c = self.cfg
        rng = np.random.default_rng([c.seed, stream, b])
        dense = rng.uniform(-np.pi, np.pi, (BLOCK, c.n_dense))
        ids = {
            "user": self._draw_ids(rng, "user", BLOCK),
            "item": self._draw_ids(rng, "item", BLOCK),
            "context": self._draw_ids(rng, "context", BLOCK),
            "history": self._draw_ids(rng, "history", (BLOCK, c.history_len)),
        }
        ids["category"] = self.item_category[ids["item"]]
        p = 1.0 / (1.0 + np.exp(-self.teacher_logit(dense, ids)))
        label = (rng.random(BLOCK) < p).astype(np.float32)
        ids = {f.name: ids[f.name].astype(np.int32) for f in c.fields}
        return Batch(dense.astype(np.float32), ids, label, p.astype(np.float32))

    def examples(self, stream: int, start: int, stop: int) -> Batch:
        """Examples ``start:stop`` of a stream; each a pure function of (seed, stream, index)."""
        b0, b1 = start // BLOCK, -(-stop // BLOCK)
        cat = _concat(map_blocks(functools.partial(self._block, stream), range(b0, b1)))
        return cat.slice(start - b0 * BLOCK, stop - b0 * BLOCK)

    def train(self, n: int) -> Batch:
        """The first ``n`` training examples; the longest prefix asked for so far is kept."""
        have = 0 if self._train is None else len(self._train)
        if n > have:
            new = self.examples(TRAIN_STREAM, have, -(-n // BLOCK) * BLOCK)
            self._train = new if self._train is None else _concat([self._train, new])
        return self._train.slice(0, n)

    @functools.cached_property
    def eval_set(self) -> Batch:
        return self.examples(EVAL_STREAM, 0, self.cfg.eval_examples)

    @functools.cached_property
    def valid_set(self) -> Batch:
        """The validation set: what trials are chosen on, never reported as their score."""
        return self.examples(VALID_STREAM, 0, self.cfg.valid_examples)


@functools.lru_cache(maxsize=4)
def world(cfg: WorldConfig = WorldConfig()) -> CTRWorld:
    return CTRWorld(cfg)
