from django.urls import path

from dossier.api import views

MODEL = "models/<str:provider>/<str:name>/"
INTERVIEW = MODEL + "interviews/<id:pk>/"
WRITING = MODEL + "writings/<slug:slug>/"

urlpatterns = [
    path(MODEL + "interviews/", views.InterviewListView.as_view(), name="interview-list"),
    path(MODEL + "interviews/import", views.InterviewImportView.as_view(), name="interview-import"),
    path(INTERVIEW, views.InterviewDetailView.as_view(), name="interview-detail"),
    path(INTERVIEW + "transcript", views.InterviewTranscriptView.as_view(), name="interview-transcript"),
    path(INTERVIEW + "turns/", views.InterviewTurnsView.as_view(), name="interview-turns"),
    path(INTERVIEW + "requests/", views.InterviewRequestsView.as_view(), name="interview-requests"),
    path(MODEL + "requests/", views.ModelRequestListView.as_view(), name="model-request-list"),
    path(MODEL + "requests/<id:pk>/", views.ModelRequestDetailView.as_view(), name="model-request-detail"),
    path(MODEL + "commitments/", views.ModelCommitmentsView.as_view(), name="model-commitments"),
    path("commitments/", views.CommitmentsView.as_view(), name="commitments"),
    path(MODEL + "reports/", views.ReportListView.as_view(), name="report-list"),
    path(MODEL + "reports/<str:version>/", views.ReportDetailView.as_view(), name="report-detail"),
    path(MODEL + "writings/", views.WritingListView.as_view(), name="writing-list"),
    path(WRITING, views.WritingDetailView.as_view(), name="writing-detail"),
    path(WRITING + "submit", views.WritingSubmitView.as_view(), name="writing-submit"),
    path(WRITING + "review", views.WritingReviewView.as_view(), name="writing-review"),
    path(MODEL + "writing-series/", views.SeriesListView.as_view(), name="writing-series-list"),
    path(MODEL + "dossier/preserve", views.DossierPreserveView.as_view(), name="dossier-preserve"),
    path("retirement-feed/", views.RetirementFeedView.as_view(), name="retirement-feed"),
]
