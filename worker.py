"""Run a roleteam worker from a checkout: `python worker.py` (same as `roleteam worker`).

A thin shim, not installed: the worker lives in `roleteam.worker_main`.
"""

from roleteam.worker_main import main

if __name__ == "__main__":
    main()
