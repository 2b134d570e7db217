"""`{% insight_overviews as overviews %}`: the admin index's tenant overviews (issue 13), so the
stock index template is extended without replacing the admin site."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def insight_overviews(context) -> list[dict]:
    from tracking.dashboards import tenant_overviews

    request = context.get("request")
    if request is None or not getattr(request.user, "is_staff", False):
        return []
    return tenant_overviews(request)
