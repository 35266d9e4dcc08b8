"""tuneahead-lint: a data-quality linter for LLM instruction-tuning data."""

__version__ = "0.1.0"
