"""Evaluation: how predictions are scored, apart from the data they are scored on.

``ctr_metrics``: NE, log loss, AUC and calibration of click probabilities; ``ranking``:
full-ranking retrieval metrics (HR@K, NDCG@K, MRR, nll) and the ranks they come from.
The data layer (``sweeps.data``) exposes labels, teacher probabilities and the true
process's ranks; this layer turns them into metrics and floors.
"""
