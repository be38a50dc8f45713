"""The curators' approvals page (two-person rule, docs/approvals.md): pending proposals with approve and refuse
buttons (CSRF-protected forms, no script), and the decided ones by status. Others get 404, like the health page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from catalogue import approvals
from catalogue.models import Proposal
from catalogue.permissions import is_curator
from core.exceptions import DomainError

PAGE_ROWS = 200


def _curator_only(request) -> None:
    if not is_curator(request.user):
        raise Http404("Only curators see proposed changes.")


@login_required
def approvals_page(request):
    """Proposals of one status (pending by default), newest first."""
    _curator_only(request)
    status = request.GET.get("status") or Proposal.Status.PENDING
    if status not in Proposal.Status.values:
        status = Proposal.Status.PENDING
    proposals = list(approvals.proposals_list(status=status)[:PAGE_ROWS])
    return render(request, "web/approvals.html", {"proposals": proposals, "status": status,
                                                  "statuses": Proposal.Status.choices})


@login_required
@require_POST
def approval_decide(request, pk, decision):
    """Approve or refuse one proposal; the outcome (or why not) is shown on the approvals page."""
    _curator_only(request)
    if decision not in ("approve", "refuse"):
        raise Http404("Unknown decision.")
    note = (request.POST.get("note") or "")[:2000]
    try:
        if decision == "approve":
            proposal = approvals.proposal_approve(proposal_id=pk, approved_by=request.user, note=note)
        else:
            proposal = approvals.proposal_refuse(proposal_id=pk, refused_by=request.user, note=note)
    except DomainError as exc:
        messages.error(request, f"Change {pk}: {exc.message}")
    except Exception as exc:  # a ValidationError from the change's own service: say it, change nothing
        if not hasattr(exc, "messages"):
            raise
        messages.error(request, f"Change {pk}: {' '.join(exc.messages)}")
    else:
        messages.success(request, f"Change {proposal.pk} {proposal.status}: {proposal.summary}.")
    return redirect("web:approvals")
