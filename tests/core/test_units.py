"""One size convention (issue 30 part 4): binary units labelled KiB/MiB/GiB on pages, commands and bag-info;
counts with thousands separators."""

import pytest
from django.template import Context, Template

from core.units import count_label, size_label


@pytest.mark.parametrize(("octets", "label"), [
    (0, "0 B"), (None, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1_258_291, "1.2 MiB"),
    (3 * 1024**3, "3.0 GiB"), (5 * 1024**4, "5.0 TiB"),
])
def test_sizes_are_binary_and_say_so(octets, label):
    assert size_label(octets) == label


def test_counts_have_thousands_separators():
    assert count_label(1234567) == "1,234,567" and count_label(None) == "0"


def test_the_page_filters_use_the_convention():
    rendered = Template("{% load coda_web %}{{ a|size }} {{ b|count }}").render(Context({"a": 1_258_291, "b": 22_713_216}))
    assert rendered == "1.2 MiB 22,713,216"
