"""The README is the front door and docs/ holds the rest: every link between them leads somewhere, and every
setting the app has is documented."""

import re

from p2p.config import DEFAULTS, PROJECT_ROOT

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def anchors(path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_link_in_the_readme_and_docs_leads_to_a_file_and_heading_that_exist():
    broken = []
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
            if target.startswith(("http://", "https://")):
                continue
            file, _, anchor = target.partition("#")
            path = (doc.parent / file).resolve() if file else doc
            if not path.exists() or (anchor and anchor not in anchors(path)):
                broken.append(f"{doc.name}: {target}")
    assert not broken


def test_every_setting_is_in_docs_configuration():
    documented = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
    assert [key for key in DEFAULTS if f"`{key}`" not in documented] == []
