#!/usr/bin/env python3
"""Run the composite GitHub Action in action.yml outside GitHub, as a runner would.

scripts/install-check.sh uses this to run the Action against release files served on the
loopback interface. It evaluates the `${{ }}` expressions action.yml uses (inputs, step
outputs, github.token, ==, !=, &&, ||, !, format), runs each `run:` step with bash and the
step's `env`, collects GITHUB_OUTPUT and GITHUB_PATH, and stands in for actions/cache with a
directory of saved caches (a key that was saved is a hit and restores its path; a miss saves
the path at the end, as the cache action's post step does). Any other `uses:` is an error.

    run_action.py ACTION_DIR CACHE_STORE WORK_DIR [NAME=VALUE...]

prints the Action's outputs as JSON on stdout, the steps' own output on stderr, and exits 1
if a step failed. WORK_DIR stands for the runner: RUNNER_TEMP, RUNNER_TOOL_CACHE, the files
behind GITHUB_OUTPUT and GITHUB_PATH. RUNNER_OS and RUNNER_ARCH come from the environment,
and so does github.token (GITHUB_TOKEN; empty when unset).
"""

import json
import os
import re
import shutil
import subprocess
import sys

import yaml


class Missing(dict):
    """An object of a context: a missing property is '' as in GitHub's expressions."""

    def __getitem__(self, key):
        return self.get(key, "")


def fmt(template, *args):
    return re.sub(r"\{(\d+)\}", lambda m: str(args[int(m.group(1))]), template)


def evaluate(expr, inputs, steps):
    """The subset of GitHub's expression language that action.yml uses."""
    py = expr.strip()
    py = re.sub(
        r"\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)",
        lambda m: f"steps[{m.group(1)!r}][{m.group(2)!r}]",
        py,
    )
    py = re.sub(r"\binputs\.([A-Za-z0-9_-]+)", lambda m: f"inputs[{m.group(1)!r}]", py)
    py = re.sub(r"\bgithub\.([A-Za-z0-9_]+)", lambda m: f"github[{m.group(1)!r}]", py)
    py = py.replace("&&", " and ").replace("||", " or ")
    py = re.sub(r"!(?!=)", " not ", py)
    py = re.sub(r"\bformat\(", "fmt(", py)
    steps = Missing({k: Missing(v) for k, v in steps.items()})
    github = Missing({"token": os.environ.get("GITHUB_TOKEN", "")})
    return eval(py, {"__builtins__": {}}, {"inputs": inputs, "steps": steps, "github": github, "fmt": fmt})


def interpolate(text, inputs, steps):
    def one(match):
        value = evaluate(match.group(1), inputs, steps)
        if value is True or value is False:
            return "true" if value else "false"
        return str(value)

    return re.sub(r"\$\{\{(.*?)\}\}", one, str(text))


def read_outputs(path):
    outputs = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f.read().splitlines():
                if "=" in line:
                    key, value = line.split("=", 1)
                    outputs[key] = value
    return outputs


def main():
    action_dir, cache_store, work = sys.argv[1:4]
    given = dict(arg.split("=", 1) for arg in sys.argv[4:])
    with open(os.path.join(action_dir, "action.yml")) as f:
        action = yaml.safe_load(f)
    assert action["runs"]["using"] == "composite", "a composite action"

    unknown = set(given) - set(action["inputs"])
    if unknown:
        sys.exit(f"run_action.py: action.yml has no inputs {sorted(unknown)}")
    inputs = Missing(
        {name: str(given.get(name, spec.get("default", ""))) for name, spec in action["inputs"].items()}
    )

    for name in ("temp", "tool-cache"):
        os.makedirs(os.path.join(work, name), exist_ok=True)
    github_path = os.path.join(work, "github-path")
    open(github_path, "a").close()
    runner_env = dict(
        os.environ,
        GITHUB_ACTION_PATH=os.path.abspath(action_dir),
        GITHUB_PATH=github_path,
        RUNNER_TEMP=os.path.join(work, "temp"),
        RUNNER_TOOL_CACHE=os.path.join(work, "tool-cache"),
    )

    steps = {}
    to_save = []
    for number, step in enumerate(action["runs"]["steps"]):
        step_id = step.get("id", f"step{number}")
        condition = step.get("if")
        if condition is not None:
            condition = re.sub(r"^\$\{\{(.*)\}\}$", r"\1", str(condition).strip())
            if not evaluate(condition, inputs, steps):
                print(f"run_action.py: step {step_id}: skipped", file=sys.stderr)
                steps[step_id] = {}
                continue
        if "uses" in step:
            name = step["uses"].split("@", 1)[0]
            if name != "actions/cache":
                sys.exit(f"run_action.py: no stand-in for {step['uses']}")
            with_ = {k: interpolate(v, inputs, steps) for k, v in step.get("with", {}).items()}
            path, key = with_["path"], with_["key"]
            assert path and key, f"cache path {path!r} and key {key!r} are set"
            saved = os.path.join(cache_store, key)
            hit = os.path.isdir(saved)
            if hit:
                shutil.rmtree(path, ignore_errors=True)
                shutil.copytree(saved, path)
            else:
                to_save.append((path, saved))
            print(f"run_action.py: step {step_id}: cache {'hit' if hit else 'miss'} for {key}", file=sys.stderr)
            steps[step_id] = {"cache-hit": "true" if hit else "false"}
            continue
        assert step.get("shell") == "bash", f"step {step_id} runs in bash"
        output_file = os.path.join(work, f"output-{step_id}")
        open(output_file, "w").close()
        env = dict(runner_env, GITHUB_OUTPUT=output_file)
        for key, value in step.get("env", {}).items():
            env[key] = interpolate(value, inputs, steps)
        script = interpolate(step["run"], inputs, steps)
        print(f"run_action.py: step {step_id}: {script}", file=sys.stderr)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            env=env, stdout=sys.stderr,
        )
        if done.returncode != 0:
            print(f"run_action.py: step {step_id} failed with exit {done.returncode}", file=sys.stderr)
            sys.exit(1)
        steps[step_id] = read_outputs(output_file)

    for path, saved in to_save:
        if os.path.isdir(path):
            shutil.copytree(path, saved)

    outputs = {name: interpolate(spec["value"], inputs, steps) for name, spec in action["outputs"].items()}
    with open(github_path) as f:
        outputs["(GITHUB_PATH)"] = f.read().splitlines()
    json.dump(outputs, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
