"""models.init: the shape-independent initialisers give the bits of jax.nn.initializers'
own, eagerly and inside a trace, and compile one program per distribution and length."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models import init

INI = jax.nn.initializers
# below, at and across power-of-two lengths, 2-D and 3-D
SHAPES = [(1, 1), (8, 3), (64, 1), (65, 2), (13, 31), (1001, 8), (2, 3, 5)]
PAIRS = {
    "uniform": (init.uniform(0.05), lambda k, s, d: jax.random.uniform(k, s, d, -0.05, 0.05)),
    "normal": (init.normal(0.02), INI.normal(0.02)),
    "truncated_normal": (init.truncated_normal(0.3), INI.truncated_normal(0.3)),
    "he_normal": (init.he_normal(), INI.he_normal()),
    "lecun_normal": (init.lecun_normal(), INI.lecun_normal()),
    "xavier_uniform": (init.xavier_uniform(), INI.xavier_uniform()),
    "zeros": (init.zeros, INI.zeros),
    "ones": (init.ones, INI.ones),
}


def _bits(x) -> np.ndarray:
    x = np.asarray(x)
    assert x.dtype == np.float32
    return x.view(np.uint32)


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_every_initializer_gives_the_jax_initializers_bits(name):
    ours, theirs = PAIRS[name]
    key = jax.random.key(11)
    for shape in SHAPES:
        a, b = ours(key, shape, jnp.float32), theirs(key, shape, jnp.float32)
        assert a.shape == b.shape == shape and np.array_equal(_bits(a), _bits(b)), (name, shape)
    assert np.std(np.asarray(a)) > 0 or name in ("zeros", "ones")


def test_inside_a_trace_it_is_the_jax_initializer():
    key = jax.random.key(5)
    traced = jax.jit(lambda k: init.he_normal()(k, (13, 31)))(key)
    shapes = jax.eval_shape(lambda k: init.uniform(0.1)(k, (9, 4)), key)
    assert shapes.shape == (9, 4) and shapes.dtype == jnp.float32
    ref = jax.jit(lambda k: INI.he_normal()(k, (13, 31)))(key)
    assert np.array_equal(_bits(traced), _bits(ref))


def test_new_shapes_of_one_length_bucket_compile_nothing():
    key = jax.random.key(1)
    init.truncated_normal(0.02)(key, (33, 3))  # a draw of length 128 compiled once
    before = init._flat._cache_size()
    for shape in [(10, 10), (64, 2), (100, 1), (5, 25), (127, 1)]:
        init.truncated_normal(0.02)(key, shape)
        init.zeros(key, shape)
    assert init._flat._cache_size() == before
