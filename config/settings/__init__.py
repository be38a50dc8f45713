"""Coda settings, grouped by concern: one module per concern, each value from the environment with an embedded
default for development. Every environment variable is documented once, in docs/configuration.md (a test checks).

`CODA_ENV=production` switches to production mode, which refuses to start without `DJANGO_SECRET_KEY` and
`DJANGO_ALLOWED_HOSTS` and turns on the secure defaults that `manage.py check --deploy` asks for.
"""

from config.settings.base import *  # noqa: F401,F403
from config.settings.server import *  # noqa: F401,F403
from config.settings.database import *  # noqa: F401,F403
from config.settings.api import *  # noqa: F401,F403
from config.settings.access import *  # noqa: F401,F403
from config.settings.tasks import *  # noqa: F401,F403
from config.settings.storage import *  # noqa: F401,F403
from config.settings.preservation import *  # noqa: F401,F403
from config.settings.interop import *  # noqa: F401,F403
from config.settings.sealing import *  # noqa: F401,F403
