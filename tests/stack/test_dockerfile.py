"""What a Dockerfile takes from its build context, and validate's build-context check on hand-made stacks."""

from pathlib import Path

from rq_obs.stack.dockerfile import Source, context_sources
from rq_obs.stack.validate import build_problems

DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base
COPY --chown=10001:10001 requirements.txt \\
  # a comment inside a continuation is dropped
  setup.cfg /src/
copy ["dir with space/a.txt", "/b/"]
COPY --from=base /usr/lib/x /x
ADD https://example.invalid/file.tgz /opt/
ADD git@github.com:o/r.git /r
COPY $APP_HOME/x /y
COPY <<EOF /etc/motd
COPY inside-a-heredoc /x
EOF
ADD --link app/*.py /app/
RUN <<-END cat
\tCOPY also-inside /x
\tEND
RUN echo $((1<<2)) COPY not-a-source /x
COPY last.txt /x
"""


def test_sources_are_the_context_files_of_copy_and_add():
    assert context_sources(DOCKERFILE) == [
        Source(3, "COPY", "requirements.txt"),
        Source(3, "COPY", "setup.cfg"),
        Source(6, "COPY", "dir with space/a.txt"),
        Source(14, "ADD", "app/*.py"),
        Source(19, "COPY", "last.txt"),
    ]


def test_escape_directive_changes_the_continuation_character():
    text = "# escape=`\nFROM scratch\nCOPY a `\n  b /dst\nCOPY c\\\\ /d\n"
    assert context_sources(text) == [Source(3, "COPY", "a"), Source(3, "COPY", "b"), Source(5, "COPY", "c\\\\")]


def _stack(tmp_path: Path, dockerfile: str, files=()) -> Path:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text(dockerfile)
    for name in files:
        (tmp_path / "ctx" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ctx" / name).write_text("x")
    return tmp_path


def test_build_problems_name_each_missing_source(tmp_path):
    root = _stack(tmp_path, "FROM x\nCOPY here.txt gone.txt /d/\nCOPY ../secret /s\nCOPY lib/*.py /l/\n"
                            "COPY /here.txt /abs\n", ["here.txt"])
    assert build_problems("app", {"context": "./ctx"}, root) == ("ctx/Dockerfile", [
        "ctx/gone.txt is missing",
        "COPY ../secret (line 3) is outside the build context ctx/",
        "COPY lib/*.py (line 4) matches no file in ctx/",
    ])
    (root / "ctx" / "gone.txt").write_text("x")
    (root / "ctx" / "lib").mkdir()
    (root / "ctx" / "lib" / "m.py").write_text("")
    (root / "secret").write_text("s")
    assert build_problems("app", "ctx", root) == ("ctx/Dockerfile", [
        "COPY ../secret (line 3) is outside the build context ctx/"])


def test_build_problems_for_contexts_dockerfiles_and_inline_dockerfiles(tmp_path):
    root = _stack(tmp_path, "FROM x\n", [])
    assert build_problems("app", {"context": "nowhere"}, root) == (
        "nowhere/Dockerfile", ["services.app.build.context nowhere is not a directory"])
    assert build_problems("app", {"context": "ctx", "dockerfile": "Other"}, root) == (
        "ctx/Other", ["ctx/Other is missing"])
    assert build_problems("app", {"context": "ctx", "dockerfile_inline": "FROM x\nCOPY y /y\n"}, root) == (
        "services.app.build.dockerfile_inline", ["ctx/y is missing"])
    assert build_problems("app", "https://github.com/o/r.git#main", root) == (
        "https://github.com/o/r.git#main", [])
