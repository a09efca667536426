"""Flask extensions, created unbound here and bound in :func:`tracker.create_app`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum

import sqlalchemy as sa
from flask_bootstrap import Bootstrap5
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase, registry

from tracker.dbtypes import UTCDateTime

# Stable constraint names, so Alembic migrations can drop or alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UTCDateTime(),
            Decimal: sa.Numeric(12, 2),
            # Enums are stored by value as short strings: readable in SQL, no native
            # PostgreSQL enum type to migrate whenever a value is added.
            Enum: sa.Enum(
                Enum,
                native_enum=False,
                create_constraint=False,
                length=32,
                values_callable=lambda cls: [member.value for member in cls],
            ),
        },
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
bootstrap = Bootstrap5()
talisman = Talisman()
limiter = Limiter(key_func=get_remote_address)
cache = Cache()

# Every page's Content-Security-Policy: only the app's own scripts, styles and images, no
# inline code of any kind, no framing. (Charts relax it for their own SVG: see reports.)
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
