"""Feature functions by topic: lengths (global), lexical, semantic
(embeddings), perplexity (base model). Each is ``fn(corpus) -> Measure``."""
