"""Data sets that trials train on. The embedded default is the synthetic CTR world."""
