"""The WSGI entry point for gunicorn: ``gunicorn 'tracker.wsgi:app'`` (README "Production")."""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from tracker import create_app
from tracker.runtime import freeze_loaded
from tracker.web import compile_templates

app = create_app()
compile_templates(app)
# What the worker loaded to this point lives as long as it does: frozen out of the garbage
# collector's way, a full collection scans only what requests made since (it scanned all
# of it, ~90 ms, every few dozen requests: the slowest pages under load).
freeze_loaded()
if hops := int(app.config["TRACKER_PROXY_HOPS"]):
    # Behind nginx: trust its X-Forwarded-For/-Proto so throttling sees the real client
    # and the app knows the request came in over HTTPS.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
