"""`coda`: the client on the command line. Every command takes --json (machine output on stdout); progress bars
go to stderr on a terminal; an error prints its message and exits 1."""

import argparse
import json
import sys
from dataclasses import asdict

from tqdm.auto import tqdm

from coda_client import approvals
from coda_client.client import Coda
from coda_client.log import LogVerifier
from coda_client.errors import CodaError


def _emit(args, data, text_lines) -> None:
    if args.json:
        json.dump(data, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        for line in text_lines:
            print(line)


def _bar(args, **kwargs):
    return tqdm(disable=args.json or not sys.stderr.isatty(), file=sys.stderr, **kwargs)


def models_list(coda: Coda, args) -> None:
    models = list(coda.models(status=args.status, q=args.q, provider=args.provider))
    _emit(args, [m.raw for m in models], [f"{m.id}\t{m.status}\t{m.retires_on or ''}" for m in models])


def model_show(coda: Coda, args) -> None:
    model = coda.model(args.model)
    _emit(args, model.raw, [f"{k}: {v}" for k, v in asdict(model).items() if k != "raw"])


def snapshot_list(coda: Coda, args) -> None:
    snapshots = list(coda.snapshots(args.model))
    _emit(args, [s.raw for s in snapshots], [f"{s.revision or s.id}\t{s.state}\t{s.file_count} files" for s in snapshots])


def snapshot_show(coda: Coda, args) -> None:
    snapshot = coda.snapshot(args.model, args.revision)
    lines = [f"revision: {snapshot.revision}", f"state: {snapshot.state}", f"sealed_at: {snapshot.sealed_at}"]
    lines += [f"{f.sha256}  {f.size:>12}  {f.path}" for f in snapshot.files]
    _emit(args, snapshot.raw, lines)


def refs_list(coda: Coda, args) -> None:
    refs = coda.refs(args.model)
    lines = [f"{r['ref']}\t{r['revision']}" for r in refs["branches"] + refs["tags"]]
    _emit(args, refs, lines)


def size_label(octets) -> str:
    """Binary units labelled as such, as on the site (1.2 MiB)."""
    value = float(octets or 0)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(value) < 1024 or unit == "PiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{octets} B"


def preserve(coda: Coda, args) -> None:
    # Binary units, labelled as such: tqdm writes "MiB" for unit "iB" scaled by 1024.
    bar = _bar(args, unit="iB", unit_scale=True, unit_divisor=1024, desc=f"preserve {args.model}")

    def progress(job):
        done = (job.progress or {})
        bar.total = done.get("bytes_total") or bar.total
        bar.n = done.get("bytes_done") or 0
        bar.refresh()

    try:
        job = coda.preserve(args.model, args.source, wait=not args.no_wait, progress=progress,
                            file_access=args.file_access)
    finally:
        bar.close()
    progress = job.progress or {}
    summary = f"job {job.id}: {job.state}" + (f" revision {job.revision}" if job.revision else "")
    if job.state == "succeeded" and job.revision:
        summary = (f"preserved {args.model} revision {job.revision}: {progress.get('files_total', 0):,} files, "
                   f"{size_label(progress.get('bytes_total'))} (job {job.id})")
    _emit(args, job.raw, [summary] + ([coda.page_url(args.model)] if job.state == "succeeded" else []))


def download(coda: Coda, args) -> None:
    path = coda.download(args.model, revision=args.revision, local_dir=args.local_dir)
    _emit(args, {"path": path}, [path])


def verify(coda: Coda, args) -> None:
    bar = _bar(args, unit="B", unit_scale=True, desc="verify")
    try:
        report = coda.verify(args.model, args.directory, revision=args.revision,
                             progress=lambda path, n: bar.update(n))
    finally:
        bar.close()
    lines = [f"{len(report['ok'])} files match revision {report['revision']}"]
    lines += [f"MISMATCH {p}" for p in report["mismatched"]] + [f"MISSING {p}" for p in report["missing"]]
    lines += [f"EXTRA {p}" for p in report["extra"]]
    _emit(args, report, lines)
    if not report["valid"]:
        raise SystemExit(2)


def log_verify(coda: Coda, args) -> None:
    """The latest checkpoint's signature; then, as asked, events' inclusion, consistency with a checkpoint saved
    earlier, and every leaf (docs/log.md). A failure raises LogInvalid (exit 1, the first bad leaf named)."""
    verifier = LogVerifier(coda)
    checkpoint = verifier.checkpoint()
    data = {"checkpoint": checkpoint.as_dict(), "events": {}, "valid": True}
    lines = [f"checkpoint of {checkpoint.origin}: {checkpoint.size} leaves, signature verified (key {checkpoint.key_id[:16]})"]
    if args.since:
        with open(args.since, encoding="utf-8") as saved:
            older = verifier.note_verify(saved.read())
        verifier.consistency(older, checkpoint)
        data["since"] = older.as_dict()
        lines.append(f"extends the saved checkpoint of {older.size} leaves")
    for event_id in args.event or []:
        data["events"][event_id] = verifier.inclusion(event_id, checkpoint)
        lines.append(f"event {event_id} is leaf {data['events'][event_id]} of the signed tree")
    if args.full:
        report = verifier.full(checkpoint)
        data["full"] = {"checked": report.checked, "withheld": report.withheld}
        lines.append(f"all {report.size} leaf hashes give the signed root; {report.checked} leaves match their "
                     "events" + "".join(f"; {n} withheld ({why})" for why, n in report.withheld.items()))
    if args.save:
        with open(args.save, "w", encoding="utf-8") as out:
            out.write(checkpoint.note)
        lines.append(f"checkpoint saved to {args.save}")
    _emit(args, data, lines)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="coda", description="Coda preservation archive client")
    top.add_argument("--endpoint", help="server URL (default: $CODA_ENDPOINT)")
    top.add_argument("--token", help="API token (default: $CODA_TOKEN)")
    groups = top.add_subparsers(dest="group", required=True)

    def command(sub, name, func, *arguments, help=None):
        cmd = sub.add_parser(name, help=help)
        cmd.add_argument("--json", action="store_true", help="JSON on stdout")
        for args, kwargs in arguments:
            cmd.add_argument(*args, **kwargs)
        cmd.set_defaults(func=func)
        return cmd

    model_arg = (("model",), {"help": "provider/name"})
    revision_opt = (("--revision",), {"default": "main", "help": "revision id, main, dossier or a tag"})

    models = groups.add_parser("models", help="the catalogue").add_subparsers(dest="action", required=True)
    command(models, "list", models_list, (("--status",), {"action": "append"}), (("--q",), {}),
            (("--provider",), {}), help="list models (all pages)")
    command(models, "show", model_show, model_arg)
    snapshots = groups.add_parser("snapshot", help="snapshots").add_subparsers(dest="action", required=True)
    command(snapshots, "list", snapshot_list, model_arg)
    command(snapshots, "show", snapshot_show, model_arg, (("revision",), {"nargs": "?", "default": "main"}))
    refs = groups.add_parser("refs", help="branches and tags").add_subparsers(dest="action", required=True)
    command(refs, "list", refs_list, model_arg)
    command(groups, "preserve", preserve, model_arg, (("source",), {}), (("--no-wait",), {"action": "store_true"}),
            (("--file-access",), {"choices": ["public", "gated", "restricted"]}), help="curators: preserve a source")
    command(groups, "download", download, model_arg, revision_opt, (("--local-dir",), {}),
            help="download a snapshot through /hf")
    command(groups, "verify", verify, model_arg, (("directory",), {}), revision_opt,
            help="re-hash a downloaded snapshot against the manifest")
    approvals.add_commands(groups, command)
    log = groups.add_parser("log", help="the tamper-evident event log").add_subparsers(dest="action", required=True)
    command(log, "verify", log_verify, (("--event",), {"type": int, "action": "append", "help": "an event id"}),
            (("--since",), {"help": "a checkpoint saved earlier (file): the log must extend it"}),
            (("--full",), {"action": "store_true", "help": "check every leaf against its event"}),
            (("--save",), {"help": "save the verified checkpoint to this file"}),
            help="verify the log's signed checkpoint, inclusion, consistency, every leaf")
    return top


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    coda = Coda(args.endpoint, args.token)
    try:
        args.func(coda, args)
    except CodaError as exc:
        print(f"coda: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
