"""The tiny retrieval trial the sequential tests share.

A retrieval trial's cost in a test is nearly all the compile of its ``train_chunk`` (and
``rank``): 8-16 s of CPU whatever the widths. The programs depend on the model's shape,
the item count (the world's), the batch, the negatives, the chunk length, the eval batch
and the dropout rate; not on the users, the epochs, the learning rate or the seed. Tests
that train this shape through the sweep engine compile it once per run and per arch: the
run's persistent compilation cache (tests/conftest.py) serves every later test, in any
worker or subprocess. It is too small to learn the world (16 negatives among 1,000
items); tests/test_train_seq.py trains its own, larger shape for that.
"""

MODEL = {"d_model": 8, "n_blocks": 1, "n_heads": 1, "max_len": 16, "dropout": 0.2}
DATA = {"examples": 128, "seq_len": 16, "min_len": 5}
TRAIN = {"batch_size": 32, "epochs": 2, "n_negatives": 16}

# A spec's ``base:`` (and ``build_config``'s tree) for the tiny trial.
RETRIEVAL = {"model": MODEL, "data": DATA, "train": TRAIN, "optim": {"lr": 0.005}}
