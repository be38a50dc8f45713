"""What the model page shows of the retirement dossier, within the visibility rules."""

from catalogue.models import AIModel
from catalogue.permissions import can_view_interview_summary, can_view_transcript
from catalogue.rendering import render_markdown
from dossier import selectors as dossier

DOSSIER_INTERVIEWS = 5  # newest interviews shown on a model page
DOSSIER_REQUESTS = 40  # requests shown per interview
DOSSIER_REPORT_CHARS = 20_000  # report HTML shown before "read the full report"


def model_dossier(*, user, model: AIModel) -> dict:
    """What the model page shows of the retirement dossier, within the visibility rules."""
    interviews = []
    # The page stays light however much is recorded: the newest interviews and the first requests of each
    # are shown, the rest is linked (the API lists everything).
    latest = list(dossier.interview_queryset(model, user=user).order_by("-conducted_on")[: DOSSIER_INTERVIEWS + 1])
    for interview in latest[:DOSSIER_INTERVIEWS]:
        requests = list(interview.visible_requests)
        interviews.append(
            {
                "interview": interview,
                "summary_html": render_markdown(interview.summary) if can_view_interview_summary(user, interview) else None,
                "transcript_visible": can_view_transcript(user, interview),
                "requests": requests[:DOSSIER_REQUESTS],
                "more_requests": max(0, len(requests) - DOSSIER_REQUESTS),
            }
        )
    report = dossier.report_versions(model).first()
    report_html = render_markdown(report.body) if report else ""
    return {
        "interviews": interviews,
        "more_interviews": len(latest) > DOSSIER_INTERVIEWS,
        "report": report,
        "report_html": report_html,
        "report_cut": len(report_html) > DOSSIER_REPORT_CHARS,
        "writings": dossier.published_writings(user, model=model, limit=20),
        "any": bool(interviews or report),
    }
