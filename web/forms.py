"""Web forms: shape only; the services apply the rules."""

from django import forms
from django.contrib.auth.forms import UserCreationForm


class AccessRequestForm(forms.Form):
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
    affiliation = forms.CharField(max_length=300)
    accepted_terms = forms.BooleanField(
        required=True, error_messages={"required": "You must accept the access terms to request access."}
    )


class SignupForm(UserCreationForm):
    email = forms.EmailField(required=True)

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class TokenForm(forms.Form):
    expires_days = forms.IntegerField(required=False, min_value=1, max_value=3650)
    never_expires = forms.BooleanField(required=False)


class InviteForm(forms.Form):
    email = forms.EmailField()
