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
