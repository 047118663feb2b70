"""Stand-ins for wrappers that answer with recorded outputs, so the portal's
side (the real privileged client included) can be tested against an agreed
interface: each stand-in logs its argv and prints the recorded answer, or
refuses or fails the way the wrapper contract says."""

import json
import os
from pathlib import Path

STAND_IN = """#!/usr/bin/python3
import json, pathlib, sys
here = pathlib.Path(__file__).resolve().parent
name = pathlib.Path(__file__).name
argv = sys.argv[1:]
with open(here / "calls.log", "a") as log:
    log.write(json.dumps([name, *argv]) + "\\n")
answers = json.loads((here / "answers.json").read_text())
answer = answers.get(" ".join([name, *argv]), answers.get(name))
if answer is None:
    sys.stderr.write(f"{name}: refused: no recorded answer for {argv}\\n")
    sys.exit(2)
if "refused" in answer:
    sys.stderr.write(f"{name}: refused: {answer['refused']}\\n")
    sys.exit(2)
if "failed" in answer:
    sys.stderr.write(f"{name}: failed: {answer['failed']}\\n")
    sys.exit(1)
print(json.dumps(answer["stdout"]))
"""


class RecordedWrappers:
    """A wrappers directory whose every wrapper answers from ``answers``:
    {"name.py": {...}} or, for one argv, {"name.py ARG ARG": {...}}, each
    {"stdout": json} or {"refused": reason} or {"failed": reason}."""

    def __init__(self, path: Path):
        self.path = path
        self.answers = {}

    def answer(self, command, stdout=None, *, refused=None, failed=None):
        if refused is not None:
            self.answers[command] = {"refused": refused}
        elif failed is not None:
            self.answers[command] = {"failed": failed}
        else:
            self.answers[command] = {"stdout": stdout}
        (self.path / "answers.json").write_text(json.dumps(self.answers))
        name = command.split(" ", 1)[0]
        script = self.path / name
        if not script.exists():
            script.write_text(STAND_IN)
            os.chmod(script, 0o755)

    def calls(self):
        log = self.path / "calls.log"
        if not log.exists():
            return []
        return [json.loads(line) for line in log.read_text().splitlines()]

    def forget_calls(self):
        (self.path / "calls.log").unlink(missing_ok=True)
