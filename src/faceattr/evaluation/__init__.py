"""Evaluation: accuracy metrics, logical-consistency rules, reports and charts."""
