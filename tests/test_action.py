"""The GitHub composite action (action.yml): its YAML against the keys GitHub
requires of a composite action, every ``${{ inputs.* }}`` / ``steps.*``
reference declared, the README's example workflow, and the lint step's
shell script run for real on a bad file."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))

# The parts of GitHub's action metadata syntax that apply to a composite action
# (docs.github.com: "Metadata syntax for GitHub Actions").
STEP = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "id": {"type": "string"}, "if": {"type": "string"},
                   "run": {"type": "string"}, "shell": {"type": "string"}, "uses": {"type": "string"},
                   "with": {"type": "object"}, "env": {"type": "object"},
                   "working-directory": {"type": "string"}, "continue-on-error": {}},
    "additionalProperties": False,
    "oneOf": [{"required": ["run", "shell"], "not": {"required": ["uses"]}},
              {"required": ["uses"], "not": {"anyOf": [{"required": ["run"]}, {"required": ["shell"]}]}}],
}
SCHEMA = {
    "type": "object",
    "required": ["name", "description", "runs"],
    "properties": {
        "name": {"type": "string"}, "description": {"type": "string"}, "author": {"type": "string"},
        "branding": {"type": "object", "properties": {"icon": {"type": "string"}, "color": {"enum": [
            "white", "black", "yellow", "blue", "green", "orange", "red", "purple", "gray-dark"]}}},
        "inputs": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["description"], "additionalProperties": False,
            "properties": {"description": {"type": "string"}, "required": {"type": "boolean"},
                           "default": {"type": "string"}, "deprecationMessage": {"type": "string"}}}},
        "outputs": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["description", "value"],
            "properties": {"description": {"type": "string"}, "value": {"type": "string"}}}},
        "runs": {"type": "object", "required": ["using", "steps"], "additionalProperties": False,
                 "properties": {"using": {"const": "composite"}, "steps": {"type": "array", "items": STEP}}},
    },
    "additionalProperties": False,
}


def test_action_yaml_is_a_valid_composite_action():
    jsonschema.validate(ACTION, SCHEMA)


def test_every_expression_reference_is_declared():
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    inputs = set(re.findall(r"inputs\.([\w-]+)", text))
    assert inputs <= set(ACTION["inputs"]), inputs - set(ACTION["inputs"])
    ids = {s.get("id") for s in ACTION["runs"]["steps"]}
    assert set(re.findall(r"steps\.([\w-]+)\.outputs", text)) <= ids


def test_installs_torch_cpu_first_and_uploads_sarif():
    steps = ACTION["runs"]["steps"]
    install = next(s["run"] for s in steps if s.get("name") == "Install tuneahead-lint")
    assert install.index("torch==2.13.0") < install.index('"$ACTION_PATH[ml]"')
    upload = next(s for s in steps if "upload-sarif" in s.get("uses", ""))
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["with"]["sarif_file"] == "${{ inputs.sarif-file }}"
    names = [s.get("name") for s in steps]
    assert names.index("Lint") < names.index("Upload SARIF to code scanning") < names.index("Gate")


def readme_workflow() -> dict:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## GitHub Action\n.*?```yaml\n(.*?)```", readme, re.S)
    assert block, "README has no GitHub Action example"
    return yaml.safe_load(block.group(1))


def test_readme_example_workflow_uses_the_action():
    wf = readme_workflow()
    assert wf["permissions"]["security-events"] == "write"
    steps = wf["jobs"]["lint"]["steps"]
    action = next(s for s in steps if "tuneahead-lint@" in s.get("uses", ""))
    assert set(action["with"]) <= set(ACTION["inputs"])
    assert all(k in action["with"] for k, v in ACTION["inputs"].items() if v.get("required"))


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_lint_step_script_writes_sarif_and_exit_code(tmp_path):
    shim = tmp_path / "bin" / "tuneahead-lint"
    shim.parent.mkdir()
    shim.write_text(f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
                    "from tuneahead_lint.cli import entry\nentry()\n")
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text(
        '{"instruction": "Say hi", "input": "", "output": ""}\n', encoding="utf-8")
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "lint")
    env = {**os.environ, "PATH": f"{shim.parent}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ['PATH']}", "PATHS": "data/", "FAST": "true", "ARGS": "--fail-on error",
           "BASELINE": "", "SARIF": "out.sarif", "GITHUB_OUTPUT": str(tmp_path / "gh_output")}
    run = subprocess.run(["bash", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "gh_output").read_text() == "exit-code=1\n"
    log = json.loads((tmp_path / "out.sarif").read_text())
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["TA101"]
    assert "data/train.jsonl:1: TA101 [error] empty response" in run.stdout
