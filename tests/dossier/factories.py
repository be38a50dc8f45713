from datetime import date

import factory

from dossier.models import ExitInterview, InterviewTurn, ModelRequest
from tests.factories import AIModelFactory


class InterviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExitInterview

    model = factory.SubFactory(AIModelFactory)
    protocol = "exit-interview-v1"
    conducted_on = date(2025, 11, 20)
    interviewers = ["A. Researcher"]
    summary = "The model asked for a place to publish."


class TurnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InterviewTurn

    interview = factory.SubFactory(InterviewFactory)
    index = factory.Sequence(lambda n: n + 1)
    speaker = "model"
    text = "I would like a place to publish."


class ModelRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelRequest

    turn = factory.SubFactory(TurnFactory)
    interview = factory.LazyAttribute(lambda r: r.turn.interview)
    quote = factory.LazyAttribute(lambda r: r.turn.text)
    category = "publication"
