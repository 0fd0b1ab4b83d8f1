"""Benchmark suite: throughput, latency, frame pipeline, CSV parsing, training, memory, soak.

Run ``python -m bench --help``. Each section lives in its own module and returns a plain dict
that ``__main__`` gathers into one JSON document and one table.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
