"""The benchmark runner rewrites only its own sections of docs/PERFORMANCE.md."""

from __future__ import annotations

from bench.__main__ import update


def test_a_section_is_replaced_between_its_markers_and_others_are_kept() -> None:
    document = (
        "# Performance\n\n"
        "<!-- BEGIN bench:a -->\nold a\n<!-- END bench:a -->\n\n"
        "<!-- BEGIN bench:db -->\nfigures the lead wrote\n<!-- END bench:db -->\n"
    )
    new_a = "<!-- BEGIN bench:a -->\nnew a\n<!-- END bench:a -->"
    updated = update(document, "a", new_a)
    assert "new a" in updated and "old a" not in updated
    assert "figures the lead wrote" in updated
    assert updated.index("new a") < updated.index("figures the lead wrote")


def test_a_new_section_is_appended() -> None:
    updated = update("# Performance\n", "b", "<!-- BEGIN bench:b -->\nb\n<!-- END bench:b -->")
    assert updated.endswith("<!-- END bench:b -->\n")
    assert updated.startswith("# Performance\n")
