"""The workers behind the gateway: the pool with its health checks and DNS (`backends.py`),
stuck detection, the supervisor of `--spawn N`, the choice of a worker for a request, and job
ids that name their worker. Nothing here knows HTTP routes or FastAPI."""
