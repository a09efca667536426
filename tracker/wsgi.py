"""The WSGI entry point for gunicorn: ``gunicorn 'tracker.wsgi:app'`` (README "Production")."""

from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix

from tracker import create_app

app = create_app()
if hops := int(app.config["TRACKER_PROXY_HOPS"]):
    # Behind nginx: trust its X-Forwarded-For/-Proto so throttling sees the real client
    # and the app knows the request came in over HTTPS.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
