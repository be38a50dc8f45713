"""Run rocrate-validator's own CLI with no network: the remote JSON-LD documents it fetches (the RO-Crate context)
are answered from local files given as `--serve URL=PATH` before the CLI's arguments. Everything else is the
validator's code; an URL not served fails as it would offline. Run with the validator's venv python:
    var/test-venvs/rocrate-validator/bin/python validate_offline.py --serve URL=PATH -- validate CRATE ..."""

import sys
from pathlib import Path

import requests
from requests.adapters import HTTPAdapter

SERVED: dict[str, Path] = {}
_send = HTTPAdapter.send


def _send_local(self, request, **kwargs):
    path = SERVED.get(request.url)
    if path is None:
        return _send(self, request, **kwargs)
    response = requests.Response()
    response.status_code, response.url, response.request, response.encoding = 200, request.url, request, "utf-8"
    response.headers["Content-Type"] = "application/ld+json"
    response._content = path.read_bytes()
    return response


if __name__ == "__main__":
    args = sys.argv[1:]
    while args and args[0] == "--serve":
        url, _, path = args[1].partition("=")
        SERVED[url] = Path(path)
        args = args[2:]
    if args and args[0] == "--":
        args = args[1:]
    HTTPAdapter.send = _send_local
    from rocrate_validator.cli import cli

    sys.argv = ["rocrate-validator", *args]
    sys.exit(cli())
