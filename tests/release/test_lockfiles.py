from pathlib import Path

import pytest

from rq_obs.errors import InputError
from rq_obs.snapshot.lockfiles import LockEntry, find, parse

DATA = Path(__file__).resolve().parent.parent / "data" / "release"


def test_requirements_pip_compile_with_hashes_and_via_comments():
    entries = parse(DATA / "requirements.txt")
    assert [(e.name, e.version, e.direct) for e in entries] == [
        ("certifi", "2024.8.30", False), ("charset-normalizer", "3.4.0", False), ("requests", "2.32.3", True),
        ("urllib3", "2.2.3", False)]
    assert entries[0].hashes == ("sha256:922820b53db7a7257ffbda3f597266d435245903d80737e34f8a45ff3e3230d8",
                                 "sha256:bec941d2aa8195e248a60b31ff9f0558284cf01a52591ceda73ea9afffd69fd9")


def test_requirements_unpinned_and_names_normalised():
    assert parse(DATA / "requirements-dev.txt") == [LockEntry("pytest", "", "pypi", (), None),
                                                   LockEntry("flask-cors", "5.0.0", "pypi", (), None)]


def test_poetry_lock():
    entries = parse(DATA / "poetry.lock")
    assert [(e.name, e.version, e.dev, len(e.hashes)) for e in entries] == [("click", "8.1.7", False, 2), ("pytest", "8.3.3", True, 1)]
    assert entries[0].hashes[0] == "sha256:ae74fb96c20a0277a1d615f1e4d73c8414f5a98db8b799a7931d1582f3390c28"


def test_uv_lock_root_dependencies_are_direct():
    entries = parse(DATA / "uv.lock")
    assert [(e.name, e.version, e.direct, len(e.hashes)) for e in entries] == [
        ("httpx", "0.27.2", True, 2), ("pytest", "8.3.3", True, 1), ("sniffio", "1.3.1", False, 1)]


def test_pipfile_lock():
    entries = parse(DATA / "Pipfile.lock")
    assert [(e.name, e.version, e.dev, len(e.hashes)) for e in entries] == [
        ("django", "5.1.2", False, 1), ("sqlparse", "0.5.1", False, 2), ("pytest", "8.3.3", True, 1)]


def test_package_lock_v3():
    entries = parse(DATA / "package-lock.json")
    assert [(e.name, e.version, e.ecosystem, e.direct, e.dev) for e in entries] == [
        ("@types/node", "22.7.5", "npm", True, False), ("debug", "2.6.9", "npm", False, False),
        ("express", "4.21.1", "npm", True, False), ("jest", "29.7.0", "npm", True, True),
        ("undici-types", "6.19.8", "npm", False, False)]
    assert entries[2].hashes[0].startswith("sha512-YSFlK1Ee0")


def test_maven_pom_properties_and_managed_versions():
    entries = parse(DATA / "pom.xml")
    assert [(e.name, e.version, e.dev) for e in entries] == [
        ("com.fasterxml.jackson.core:jackson-databind", "2.17.2", False), ("org.slf4j:slf4j-api", "2.0.16", False),
        ("org.junit.jupiter:junit-jupiter", "5.11.0", True)]


def test_find_lists_every_format():
    assert [p.name for p in find(DATA)] == ["requirements-dev.txt", "requirements.txt", "poetry.lock", "uv.lock",
                                            "Pipfile.lock", "package-lock.json", "pom.xml"]


@pytest.mark.parametrize("name,content,needle", [
    ("requirements.txt", "requests==2.0\nthis is not ! valid\n", "requirements.txt:2: not a requirement"),
    ("poetry.lock", "[[package]]\nname = 'x'\n", "package[0] (x) has no 'version'"),
    ("uv.lock", "package = 3\n", "'package' must be an array"),
    ("Pipfile.lock", "{not json", "not valid JSON"),
    ("package-lock.json", '{"lockfileVersion": 3}', "expected 'packages'"),
    ("pom.xml", "<project><dependencies><dependency><artifactId>x</artifactId></dependency></dependencies></project>",
     "dependency #1 lacks groupId"),
])
def test_malformed_files_name_file_and_problem(tmp_path, name, content, needle):
    p = tmp_path / name
    p.write_text(content)
    with pytest.raises(InputError) as exc:
        parse(p)
    assert str(p) in str(exc.value) and needle in str(exc.value)


LICENCES = DATA / "licences"


def test_npm_licences_come_from_the_lockfile():
    from rq_obs.snapshot.deps import collect_dependencies

    deps = [d for d in collect_dependencies(LICENCES / "npm", dists=[]) if d.ecosystem == "npm"]
    assert [(d.name, d.version, d.kind, d.license) for d in deps] == [
        ("debug", "4.3.7", "direct", "MIT"), ("ms", "2.1.3", "direct", "MIT")]


def test_maven_licences_come_from_the_poms_in_the_local_repository():
    from rq_obs.snapshot.deps import collect_dependencies

    deps = collect_dependencies(LICENCES / "maven", dists=[], maven_repo=LICENCES / "m2")
    assert [(d.name, d.license) for d in deps] == [
        ("commons-io:commons-io", "Apache-2.0"),  # inherited: commons-parent 74 -> apache 33
        ("net.java.dev.jna:jna", "LGPL-2.1-or-later OR Apache-2.0"),  # dual-licensed: both <license> entries
        ("org.example:not-downloaded", "UNKNOWN")]
