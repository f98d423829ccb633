"""The project's shape: one-way imports, pinned requirements, the README's two commands."""

import ast
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("package", ["pipeline", "labeling"])
def test_core_packages_never_import_ui_frameworks(package):
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"streamlit", "gradio"}, f"{path.relative_to(REPO)} imports {name}"


def test_runtime_requirements_are_pinned():
    lines = [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()]
    specs = [line for line in lines if line]
    assert specs and all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[A-Za-z0-9_.]+", s) for s in specs), specs
    pins = dict(s.split("==") for s in specs)
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1" and pins["mediapipe"] == "0.10.21"


def _block_after(marker: str) -> str:
    text = (REPO / "README.md").read_text()
    match = re.search(re.escape(marker) + r"\s*```bash\n(.+?)\n```", text)
    assert match, f"README.md has no command block after {marker}"
    return match.group(1)


def test_readme_commands_do_their_own_set_up():
    assert _block_after("<!-- main command -->").startswith("pip install -r requirements.txt && ")
    assert _block_after("<!-- test command -->").startswith("pip install -r requirements-dev.txt && ")
    assert "-r requirements.txt" in (REPO / "requirements-dev.txt").read_text()


def test_ci_runs_exactly_the_readme_test_command():
    script = (REPO / ".ci" / "run").read_text()
    extract = script[script.index("test_command=$(") + len("test_command=$("): script.index("README.md)") + len("README.md")]
    result = subprocess.run(["bash", "-c", extract], cwd=REPO, capture_output=True, text=True)
    assert result.stdout.strip() == _block_after("<!-- test command -->")


def test_readme_layout_names_every_folder():
    """The README's layout section has a line for every package folder a newcomer meets."""
    text = (REPO / "README.md").read_text()
    layout = text[text.index("## Layout"):]
    folders = [p.parent.relative_to(REPO).as_posix() + "/" for p in REPO.glob("*/**/__init__.py")
               if not p.relative_to(REPO).parts[0].startswith((".", "tests"))]
    missing = [f for f in sorted(set(folders)) if f"\n{f}" not in layout]
    assert not missing, f"README layout lacks {missing}"
