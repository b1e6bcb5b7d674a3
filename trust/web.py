"""Small helpers every app's views share."""

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, JsonResponse

# As Django's json_script: the same data once parsed, but never markup if shown as HTML.
_JSON_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


class MarkupSafeJSONEncoder(DjangoJSONEncoder):
    def encode(self, o):
        return super().encode(o).translate(_JSON_ESCAPES)


def json_response(data, status=200) -> JsonResponse:
    """JSON whose strings (form errors echo what was typed) cannot carry live markup."""
    return JsonResponse(data, status=status, encoder=MarkupSafeJSONEncoder)


def posted(request):
    """The submitted data for a POST (even an empty one, which a bare `or None` would lose),
    None for a GET."""
    return request.POST if request.method == "POST" else None


def add_service_errors(form, error: ValidationError) -> None:
    """Put a service's refusal on the form: on the field it names, else on the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def require_role(user, *roles) -> None:
    """404 for anyone without one of these roles: the page is not there for them."""
    if not user.organisation_ids_for(*roles):
        raise Http404("You have no role here.")
