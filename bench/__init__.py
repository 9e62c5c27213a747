"""The benchmark harness (`make bench`): a seeded dataset at a million orders on PostgreSQL, and
the figures the performance targets name, each beside a baseline measured in the same run."""
