"""docs/INSTRUMENTING.md lists exactly the attribute names the routing views read, with their types and caps."""

from pathlib import Path

from rq_obs.catalog import CAPS
from rq_obs.telemetry import attributes as A

DOC = Path(__file__).resolve().parents[2] / "docs" / "INSTRUMENTING.md"


def test_the_attribute_table_is_the_code_s():
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Test attributes for the LLM-routing views"):]
    section = section[:section.find("\n## ", 3)] if "\n## " in section[3:] else section
    rows = [line.split("|")[1:5] for line in section.splitlines() if line.startswith("| `")]
    documented = {cells[0].strip().strip("`"): (cells[1].strip(), cells[3].strip().strip("`")) for cells in rows}
    assert documented == {name: (typ, A.OTEL_EQUIVALENT.get(name, "none")) for name, (typ, _) in A.ATTRIBUTES.items()}
    for name, aliases in A.ALIASES.items():
        assert all(f"`{a}` is read too" in section for a in aliases), name
    assert f"the {CAPS['route']} routes in most attempts" in section
    assert f"The {CAPS['term']} terms in most failing attempts" in section
