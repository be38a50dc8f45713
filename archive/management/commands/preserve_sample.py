"""`manage.py preserve_sample [--uv PATH] [--base-url URL]`: preserve the bundled sample model (make run does)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from archive.samples import sample_preserve
from core.exceptions import DomainError


class Command(BaseCommand):
    help = "Preserve the sample model (Silero VAD, from a hash-pinned PyPI package) unless already preserved."

    def add_arguments(self, parser):
        parser.add_argument("--uv", default="uv", help="the uv executable that fetches the pinned package")
        parser.add_argument("--base-url", default="", help="site address to print with the model page's path")

    def handle(self, *args, uv, base_url, **options):
        try:
            result = sample_preserve(uv=uv)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        page = reverse("web:model", kwargs={"provider": result.model.provider.slug, "name": result.model.name})
        base = base_url.rstrip("/")
        self.stdout.write(f"{result}\n  see {base}{page}")
        if result.state == "preserved" or result.job is not None:  # the download works once the worker has sealed it
            self.stdout.write(f"  download it with huggingface_hub: HF_ENDPOINT={base}/hf hf download {result.model.repo_id}")
