"""Where background work runs: the scheduler's own threads (the embedded default) or an
existing distributed task queue (Celery, when ``TRACKER_BROKER_URL`` names a broker).

The scheduler (APScheduler, one process) stays the clock either way: it decides what is
due and hands each unit of work to an :class:`~tracker.queue.contract.Executor`.
"""
