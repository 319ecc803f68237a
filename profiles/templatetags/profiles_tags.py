from django import template

from profiles.attributes import Attribute
from profiles.models import Criterion
from profiles.selectors import criterion_text

register = template.Library()


@register.simple_tag
def criterion_words(criterion: Criterion, registry: dict[str, Attribute]) -> str:
    """A criterion in words, using the registry the view already loaded."""
    return criterion_text(criterion, registry)
