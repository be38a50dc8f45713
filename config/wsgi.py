import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

if settings.CODA_GC_FREEZE:
    from config import gc_tuning

    gc_tuning.install()
