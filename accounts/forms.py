from django import forms
from django.core.validators import EmailValidator


class SignInForm(forms.Form):
    username = forms.CharField(
        label="Work account",
        max_length=256,
        validators=[EmailValidator(message="Enter your work account as name@domain.")],
        widget=forms.EmailInput(
            attrs={"autofocus": True, "autocomplete": "username", "placeholder": "you@partner.com"}
        ),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput, max_length=2000)
