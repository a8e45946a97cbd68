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


#: Parent POMs followed at most, looking for <licenses> (Apache projects inherit theirs two levels up).
MAX_PARENTS = 6


def pom_path(repo: Path, group: str, artifact: str, version: str) -> Path:
    """Where Maven's local repository keeps a POM (``~/.m2/repository/<group as dirs>/<artifact>/<version>/``)."""
    return Path(repo, *group.split("."), artifact, version, f"{artifact}-{version}.pom")


def pom_license(repo: Path, group: str, artifact: str, version: str) -> str:
    """The licence names of a dependency's POM in the local repository (" OR "-joined when several), following
    <parent> POMs when it declares none; "" when the POM is not there or no licence is declared."""
    for _ in range(MAX_PARENTS + 1):
        p = pom_path(repo, group, artifact, version)
        if not version or not p.is_file():
            return ""
        try:
            root = ET.fromstring(p.read_bytes())
        except ET.ParseError:
            return ""
        _strip_ns(root)
        names = [(el.text or "").strip() for el in root.findall("./licenses/license/name")]
        names = [n for n in names if n]
        if names:
            return " OR ".join(names)
        parent = root.find("parent")
        if parent is None:
            return ""
        group, artifact = parent.findtext("groupId", "").strip(), parent.findtext("artifactId", "").strip()
        version = parent.findtext("version", "").strip()
    return ""
