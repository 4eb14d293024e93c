"""Answer-quality evaluation of the knowledge-base search (see docs/answer-quality.md)."""
