"""The two-person rule's proposals (curators): list, show, approve and refuse, for `Coda` (a mixin) and `coda
approvals …` on the command line. A door whose change needs a second curator answers 202 with
{"approval_required": true, "detail", "proposal"}; `Proposal.from_json(answer["proposal"])` reads it."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from coda_client.types import Record


@dataclass
class Proposal(Record):
    id: int
    kind: str | None = None
    status: str | None = None
    summary: str | None = None
    model: str | None = None
    params: Any = None
    proposed_by: str | None = None
    decided_by: str | None = None
    expires_at: str | None = None
    result: Any = None
    raw: dict = field(default_factory=dict, repr=False)


class ApprovalsMixin:
    """Methods of `Coda` for /api/v1/approvals/ (curators only)."""

    def approvals(self, *, status: str | None = None, kind: str | None = None,
                  model: str | None = None) -> Iterator[Proposal]:
        params = {"status": status, "kind": kind, "model": model}
        return (Proposal.from_json(p) for p in self.paginate("approvals/", params))

    def approval(self, proposal_id: int) -> Proposal:
        return Proposal.from_json(self.request("GET", f"approvals/{proposal_id}/"))

    def approve(self, proposal_id: int, note: str = "") -> Proposal:
        """Approve another curator's proposal: the change is applied (PermissionDenied for your own)."""
        return Proposal.from_json(self.request("POST", f"approvals/{proposal_id}/approve/", body={"note": note}))

    def refuse(self, proposal_id: int, note: str = "") -> Proposal:
        return Proposal.from_json(self.request("POST", f"approvals/{proposal_id}/refuse/", body={"note": note}))


def _line(p: Proposal) -> str:
    return f"{p.id}\t{p.status}\t{p.kind}\t{p.proposed_by}\t{p.expires_at}\t{p.summary}"


def add_commands(groups, command) -> None:
    """`coda approvals list [--status S] [--kind K] [--model M]`, `coda approvals approve ID [--note N]`,
    `coda approvals refuse ID [--note N]`."""
    from coda_client.cli import _emit  # the CLI's output helper (imported here: cli imports this module)

    def listing(coda, args):
        rows = list(coda.approvals(status=args.status, kind=args.kind, model=args.model))
        _emit(args, [p.raw for p in rows], [_line(p) for p in rows] or ["no proposal"])

    def decide(coda, args):
        proposal = (coda.approve if args.action == "approve" else coda.refuse)(args.id, note=args.note or "")
        _emit(args, proposal.raw, [f"change {proposal.id} {proposal.status}: {proposal.summary}"])

    sub = groups.add_parser("approvals", help="curators: changes waiting for a second curator").add_subparsers(
        dest="action", required=True)
    command(sub, "list", listing, (("--status",), {"choices": ["pending", "approved", "refused", "expired"]}),
            (("--kind",), {}), (("--model",), {"help": "provider/name"}), help="list proposals (all pages)")
    for name in ("approve", "refuse"):
        command(sub, name, decide, (("id",), {"type": int}), (("--note",), {}), help=f"{name} a proposal")
