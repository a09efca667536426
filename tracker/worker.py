"""The Celery worker's entry point (README "Many shops"):

    celery -A tracker.worker:celery worker --pool threads --concurrency 8 \\
        -Q tracker,tracker-builds

It builds the app from the same configuration as the web and the scheduler (the
environment: DATABASE_URL, TRACKER_BROKER_URL, the keys …) and runs under the jobs'
database limits, not the web's few seconds.
"""

from __future__ import annotations

from tracker import create_app
from tracker.cli.limits import apply_job_limits
from tracker.jobs import celery_app
from tracker.runtime import freeze_loaded

app = create_app()
if not app.config["TRACKER_BROKER_URL"]:
    raise SystemExit("TRACKER_BROKER_URL is not set: there is no queue for a worker to serve.")
with app.app_context():
    apply_job_limits(app)
celery = celery_app(app)
freeze_loaded()  # a job's full collections scan only what the job made (tracker.runtime)
