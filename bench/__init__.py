"""Benchmarks of DropSpace's uploads and expiry; see docs/benchmarks.md."""
