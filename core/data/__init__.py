"""Datasets: ingest, schema inference, profiling, quality checks and exploration."""
