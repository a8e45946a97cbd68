"""Maven pom.xml parser: the project's declared dependencies, ``${property}`` versions resolved."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from rq_obs.errors import InputError
from rq_obs.snapshot.lockfiles import LockEntry


def _strip_ns(root: ET.Element) -> None:
    for el in root.iter():
        if isinstance(el.tag, str) and "}" in el.tag:
            el.tag = el.tag.split("}", 1)[1]


def parse(path: Path) -> list[LockEntry]:
    try:
        root = ET.fromstring(path.read_text(encoding="utf-8"))
    except ET.ParseError as exc:
        raise InputError(f"{path}: not valid XML ({exc})") from None
    _strip_ns(root)
    if root.tag != "project":
        raise InputError(f"{path}: root element is <{root.tag}>; expected <project>")
    props = {el.tag: (el.text or "").strip() for el in root.findall("./properties/*")}
    props["project.version"] = (root.findtext("version") or root.findtext("parent/version") or "").strip()

    def resolve(text: str) -> str:
        for _ in range(5):
            new = re.sub(r"\$\{([^}]+)\}", lambda m: props.get(m.group(1), m.group(0)), text)
            if new == text:
                break
            text = new
        return text

    managed = {}
    for d in root.findall("./dependencyManagement/dependencies/dependency"):
        managed[(d.findtext("groupId", "").strip(), d.findtext("artifactId", "").strip())] = resolve(d.findtext("version", "").strip())
    out = []
    for i, d in enumerate(root.findall("./dependencies/dependency")):
        group, artifact = d.findtext("groupId", "").strip(), d.findtext("artifactId", "").strip()
        if not group or not artifact:
            raise InputError(f"{path}: dependency #{i + 1} lacks groupId or artifactId")
        version = resolve(d.findtext("version", "").strip()) or managed.get((group, artifact), "")
        scope = d.findtext("scope", "compile").strip()
        out.append(LockEntry(f"{group}:{artifact}", version, "maven", (), True, scope == "test"))
    return out
