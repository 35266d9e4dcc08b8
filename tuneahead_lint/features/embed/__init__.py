"""Embedding stage: :mod:`.embedder` (texts -> cached unit vectors) and
:mod:`.index` (faiss similarity search, near-duplicate clusters, outliers)."""
