"""Reporters: the same findings as text, JSON, JUnit XML, Markdown or SARIF 2.1.0.

No reporter knows any rule: each prints the uniform finding shape.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from xml.etree import ElementTree as ET

from backend.audit.findings import Level
from backend.audit.registry import ALL_RULES
from backend.audit.runner import AuditResult
from backend.db.project import find_project

TOOL = "backend audit"
INFO_URI = "docs/audit.md"


def _summary(result: AuditResult) -> str:
    counts = {lvl: sum(1 for f in result.findings if f.level is lvl) for lvl in Level}
    return (
        f"{len(result.findings)} finding(s): {counts[Level.ERROR]} error, "
        f"{counts[Level.WARNING]} warning, {counts[Level.INFO]} info; "
        f"{len(result.suppressed)} suppressed; {result.rules} rules, {result.probes} probes "
        f"in {result.seconds:.1f}s"
    )


def text(result: AuditResult) -> str:
    lines = [f"policy audit of {result.database}"]
    for f in result.findings:
        lines.append(f"{f.level.label.upper():7} {f.rule}  {f.object}")
        lines.append(f"        {f.message}")
        lines.append(f"        fix: {f.remediation}")
    for s in result.suppressed:
        lines.append(f"suppressed {s.finding.rule}  {s.finding.object}: {s.by.reason}")
    if result.matrix:
        counts = Counter(cell[3].split(" (")[0] for cell in result.matrix)
        objects = len({cell[0] for cell in result.matrix})
        tally = ", ".join(f"{n} {what}" for what, n in counts.most_common())
        lines.append(
            f"isolation matrix: {len(result.matrix)} cells over {objects} objects: {tally}"
        )
    lines.append(_summary(result))
    return "\n".join(lines) + "\n"


def as_json(result: AuditResult) -> str:
    return (
        json.dumps(
            {
                "database": result.database,
                "summary": _summary(result),
                "rules": result.rules,
                "probes": result.probes,
                "seconds": round(result.seconds, 3),
                "findings": [f.as_dict() for f in result.findings],
                "matrix": [
                    {"object": obj, "command": command, "probe": probe, "result": outcome}
                    for obj, command, probe, outcome in result.matrix
                ],
                "suppressed": [
                    {
                        **s.finding.as_dict(),
                        "reason": s.by.reason,
                        "expires": s.by.expires.isoformat() if s.by.expires else None,
                    }
                    for s in result.suppressed
                ],
            },
            indent=2,
        )
        + "\n"
    )


def junit(result: AuditResult) -> str:
    suite = ET.Element(
        "testsuite",
        name=TOOL,
        tests=str(max(len(result.findings), 1)),
        failures=str(len(result.findings)),
        time=f"{result.seconds:.3f}",
    )
    if not result.findings:
        ET.SubElement(suite, "testcase", classname=TOOL, name="no findings")
    for f in result.findings:
        case = ET.SubElement(suite, "testcase", classname=f"{f.category}.{f.rule}", name=f.object)
        failure = ET.SubElement(case, "failure", type=f.level.label, message=f.message)
        failure.text = f"{f.message}\nfix: {f.remediation}"
    root = ET.Element("testsuites")
    root.append(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _md(text_: str) -> str:
    return text_.replace("|", "\\|").replace("\n", " ")


def markdown(result: AuditResult) -> str:
    lines = ["# Policy audit", "", f"`{result.database}`: {_summary(result)}", ""]
    if result.findings:
        lines += ["| level | rule | object | message | fix |", "|---|---|---|---|---|"]
        lines += [
            f"| {f.level.label} | `{f.rule}` | `{_md(f.object)}` | {_md(f.message)} | "
            f"{_md(f.remediation)} |"
            for f in result.findings
        ]
    else:
        lines.append("No findings.")
    if result.matrix:
        lines += [
            "",
            f"<details><summary>Isolation matrix ({len(result.matrix)} cells)</summary>",
            "",
            "| object | command | probe | result |",
            "|---|---|---|---|",
        ]
        lines += [f"| `{_md(o)}` | {c} | {_md(p)} | {r} |" for o, c, p, r in result.matrix]
        lines += ["", "</details>"]
    if result.suppressed:
        lines += ["", "## Suppressed", "", "| rule | object | reason |", "|---|---|---|"]
        lines += [
            f"| `{s.finding.rule}` | `{_md(s.finding.object)}` | {_md(s.by.reason)} |"
            for s in result.suppressed
        ]
    return "\n".join(lines) + "\n"


_SARIF_LEVEL = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "note"}


def _artifact(obj: str) -> str:
    """The file a reader opens to fix `obj`: its policies/ or views/ file, else audit.toml."""
    parts = obj.partition("(")[0].split(".")
    root = find_project().root
    if len(parts) >= 2:
        for folder in ("policies", "views"):
            if (root / folder / f"{parts[1]}.sql").exists():
                return f"{folder}/{parts[1]}.sql"
    return "audit.toml"


def sarif(result: AuditResult) -> str:
    rules = [
        {
            "id": r.id,
            "name": r.title,
            "shortDescription": {"text": r.title},
            "fullDescription": {"text": r.description},
            "help": {"text": r.remediation},
            "helpUri": f"{INFO_URI}#{r.id}",
            "defaultConfiguration": {"level": _SARIF_LEVEL[r.level]},
            "properties": {"tags": [r.category]},
        }
        for r in ALL_RULES
    ]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = [
        {
            "ruleId": f.rule,
            "ruleIndex": index.get(f.rule, 0),
            "level": _SARIF_LEVEL[f.level],
            "message": {"text": f"{f.message}. Fix: {f.remediation}"},
            "locations": [
                {
                    "physicalLocation": {"artifactLocation": {"uri": _artifact(f.object)}},
                    "logicalLocations": [{"fullyQualifiedName": f.object, "kind": "object"}],
                }
            ],
            "partialFingerprints": {"auditObject/v1": f"{f.rule}:{f.object}"},
        }
        for f in result.findings
    ]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": TOOL, "informationUri": INFO_URI, "rules": rules}},
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


REPORTERS: dict[str, Callable[[AuditResult], str]] = {
    "text": text,
    "json": as_json,
    "junit": junit,
    "markdown": markdown,
    "sarif": sarif,
}
