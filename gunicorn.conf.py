"""gunicorn settings for production (`make serve`); override with GUNICORN_CMD_ARGS."""
import multiprocessing
import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PORTAL_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = "sync"
timeout = 60
accesslog = "-"
# Never send the server version.
proc_name = "portal"


def on_starting(server):
    """Say where rate limits are counted; in production, refuse a start whose workers
    would each count alone (every limit multiplied by the number of workers)."""
    # Imported here: gunicorn puts the project folder on sys.path only after reading this file.
    from portal.config import rate_limit_storage

    described, problem = rate_limit_storage(
        os.environ.get("PORTAL_ENV", "development"), server.cfg.workers, os.environ.get("REDIS_URL")
    )
    server.log.info("Rate limits are counted in %s", described)
    if problem:
        raise RuntimeError(problem)  # gunicorn prints "Error: ..." and exits with status 1
